"""Synthetic bot mouse traces in the SapiMouse CSV form, for training and evaluating the bot
model. Python generators live here (`minjerk`, `bezier`, `humanised`); the browser-recorded
kinds (ghost-cursor via puppeteer-core, Playwright) are recorded by
`static/js/tools/ghost_cursor_traces.mjs` and `fraud.botgen.browser`.
"""
