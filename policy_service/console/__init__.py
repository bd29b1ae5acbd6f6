"""The console (docs/contract.md §9): server-rendered pages for the people who use the service, under
/console/. A face like the HTTP API, never a decider: each page reads a form, calls the same service
functions as the API (an approval goes through service.approvals.decide_approval), and renders HTML.

Owns sign-in with an API key into a signed session (session), the page helpers every page uses
(pages: the blueprint, `console_page`, the `money` and `when` filters, the 403 page), the console's
own words in Spanish and English (texts), and the pages themselves (approvals, ...).

May import service, decisionlog through service, deciding, model, telemetry, config, errors, and the
web room's access and state helpers (who is calling, the live service state); only web/app.py imports
it, to register the blueprint. Flask and flask_wtf are imported only here and in web.
"""
