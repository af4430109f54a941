"""The web dashboard: a thin front end over the engine, like the bot (videofactory web)."""
