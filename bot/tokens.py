"""/tokens for the bot's admins: each Hugging Face account's balance, where the figure comes from, and its tokens."""

from __future__ import annotations

from telegram import Update

from bot.access import is_admin
from bot.redact import for_chat
from bot.services import FactoryContext, Services, off_loop
from engine.backends import token_pool
from engine.token_report import account_lines

ADMINS_ONLY = "Only the bot's admins (VF_TELEGRAM_ADMINS) see the Hugging Face accounts."
NO_TOKENS = "No Hugging Face tokens are configured (VF_HF_TOKENS or VF_HF_TOKENS_FILE): pictures are painted offline."


def tokens_text(services: Services) -> str:
    """The accounts and tokens in words: balances measured by the hub where it answers, estimated where not."""
    pool = token_pool(services.settings, services.store)
    if pool is None:
        return NO_TOKENS
    return "\n".join(account_lines(pool.balances()))


async def on_tokens(update: Update, context: FactoryContext) -> None:
    """/tokens: the accounts' balances, reset dates and tokens by fingerprint (admins only)."""
    if not is_admin(update, context):
        await update.effective_message.reply_text(ADMINS_ONLY)
        return
    text = await off_loop(tokens_text, context.services)
    await update.effective_message.reply_text(for_chat(text))
