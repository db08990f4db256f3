"""The optimisers' messages, marked for translation without depending on Django.

The optimisers explain each outcome in English ("ranked 3 of 12; the release budget is spent;
2 mg short of the request") and also return the message and its values, so that the plan page
can show the explanation in the reader's language. This module imports nothing, so that the
plan model can read these messages without loading the solvers.
"""


def gettext_noop(message: str) -> str:
    """Marks a message for the translation catalog: makemessages collects the arguments of
    functions of this name."""
    return message


# Every explanation: the request's place in the ranking, then why it got what it got.
RANKED = gettext_noop("ranked %(rank)s of %(of)s; %(why)s")
FUNDED_IN_FULL = gettext_noop("funded in full")
