"""/dashboard: a one-time link that logs the user into the web dashboard (short-lived, single use)."""

from __future__ import annotations

from telegram import Update

from bot.access import is_admin
from bot.services import FactoryContext, off_loop

NOT_SET = ("The web dashboard has no public address yet. Its owner runs `videofactory web` behind an HTTPS proxy "
           "and sets VF_WEB_URL to the address a phone can reach (for example https://factory.example.com); "
           "then /dashboard sends you a login link.")


async def on_dashboard(update: Update, context: FactoryContext) -> None:
    """A login link for this user, in a private message's worth of words; never into a group for all to use."""
    settings, message = context.services.settings, update.effective_message
    if not settings.web_url:
        await message.reply_text(NOT_SET)
        return
    if update.effective_chat.type != "private":
        await message.reply_text("Ask me for the dashboard in a private chat: a login link is for one person.")
        return
    user = update.effective_user.id
    secret = await off_loop(context.services.logins.issue, user, is_admin(update, context))
    minutes = round(settings.web_login_minutes)
    await message.reply_text(f"Your dashboard: {settings.web_url.rstrip('/')}/login/{secret}\n"
                             f"The link works once, within {minutes} minutes. Do not forward it.")
