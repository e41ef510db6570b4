"""Personal data under UU PDP (Law 27/2022): the privacy notice and consent, the person's
rights (a copy of their data, correction, erasure), retention, access records and breaches.

Modules by idea: notice (the notice from configuration, the sign-in gate), consent,
export ("Data saya"), requests (correction), erasure, access (who looked at whom),
retention (the scheduled clean-up), breach (the letter and the affected people).
"""
