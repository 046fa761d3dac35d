"""Words every domain shares: yes/no, HTTP errors, and form errors by kind.

Form errors (kind ``form_error``) say what is wrong and what to do, naming the field by the
label the form shows (``{field}``); domains add their own codes in their ``labels`` module.
"""

from __future__ import annotations

from datatorg.web.labels import register

register("yes_no", {"true": ("Ja", "Yes"), "false": ("Nei", "No")})

# Titles of error pages, by HTTP status.
register(
    "http_status",
    {
        "400": ("Forespørselen kunne ikke forstås", "The request could not be understood"),
        "401": ("Du må logge inn", "Please sign in"),
        "403": ("Du har ikke tilgang til dette", "You do not have access to this"),
        "404": ("Siden finnes ikke", "Page not found"),
        "409": ("Dette er i konflikt med det som finnes", "This conflicts with what is there"),
        "413": ("Filen er for stor", "The upload is too large"),
        "422": ("Noe av det du sendte er ikke gyldig", "Some of what you sent is not valid"),
        "429": ("For mange forsøk – vent litt", "Too many attempts – please wait a little"),
        "500": ("Noe gikk galt", "Something went wrong"),
        "503": (
            "Tjenesten er opptatt – prøv igjen om litt",
            "The service is busy – try again soon",
        ),
    },
)

# What to do, by HTTP status, when the page has nothing more specific to say.
register(
    "http_advice",
    {
        "400": (
            "Sjekk adressen eller skjemaet og prøv igjen.",
            "Check the address or the form and try again.",
        ),
        "401": (
            "Logg inn for å se dette. Du kommer tilbake hit etterpå.",
            "Sign in to see this. You will come back here afterwards.",
        ),
        "403": (
            "Kontoen din har ikke tilgang. Be om tilgang, eller kontakt eieren.",
            "Your account has no access. Ask for access, or contact the owner.",
        ),
        "404": (
            "Adressen kan være feil, eller siden er flyttet eller fjernet.",
            "The address may be wrong, or the page was moved or removed.",
        ),
        "409": (
            "Noen andre har endret dette samtidig. Last siden på nytt og prøv igjen.",
            "Someone else changed this at the same time. Reload the page and try again.",
        ),
        "413": (
            "Del filen opp, eller last opp en mindre fil.",
            "Split the file, or upload a smaller one.",
        ),
        "422": ("Rett feilene under og send på nytt.", "Correct the errors below and send again."),
        "429": (
            "Vent litt før du prøver igjen.",
            "Wait a little before you try again.",
        ),
        "500": (
            "Feilen er registrert. Prøv igjen om litt.",
            "The error is logged. Please try again in a little while.",
        ),
        "503": (
            "Mange skriver samtidig akkurat nå. Ingenting gikk tapt; prøv igjen om noen sekunder.",
            "Many are writing at once just now. Nothing was lost; try again in a few seconds.",
        ),
    },
)

# Form errors: by pydantic error type (with its context as placeholders) and by domain code.
register(
    "form_error",
    {
        "missing": ("Fyll ut {field}.", "Fill in {field}."),
        "string_too_short": (
            "{field} må ha minst {min_length} tegn.",
            "{field} needs at least {min_length} characters.",
        ),
        "string_too_long": (
            "{field} kan ha høyst {max_length} tegn.",
            "{field} can have at most {max_length} characters.",
        ),
        "too_short": (
            "Velg minst {min_length} under {field}.",
            "Choose at least {min_length} under {field}.",
        ),
        "too_long": (
            "Velg høyst {max_length} under {field}.",
            "Choose at most {max_length} under {field}.",
        ),
        "int_parsing": ("{field} må være et helt tall.", "{field} must be a whole number."),
        "int_type": ("{field} må være et helt tall.", "{field} must be a whole number."),
        "int_from_float": ("{field} må være et helt tall.", "{field} must be a whole number."),
        "float_parsing": ("{field} må være et tall.", "{field} must be a number."),
        "decimal_parsing": (
            "{field} må være et tall, for eksempel 12,50.",
            "{field} must be a number, for example 12.50.",
        ),
        "decimal_max_places": (
            "{field} kan ha høyst {decimal_places} desimaler.",
            "{field} can have at most {decimal_places} decimals.",
        ),
        "greater_than_equal": ("{field} må være minst {ge}.", "{field} must be at least {ge}."),
        "greater_than": ("{field} må være større enn {gt}.", "{field} must be more than {gt}."),
        "less_than_equal": ("{field} kan være høyst {le}.", "{field} can be at most {le}."),
        "less_than": ("{field} må være mindre enn {lt}.", "{field} must be less than {lt}."),
        "date_parsing": (
            "{field} må være en dato, for eksempel 2026-12-31.",
            "{field} must be a date, for example 2026-12-31.",
        ),
        "date_from_datetime_parsing": (
            "{field} må være en dato, for eksempel 2026-12-31.",
            "{field} must be a date, for example 2026-12-31.",
        ),
        "date_type": (
            "{field} må være en dato, for eksempel 2026-12-31.",
            "{field} must be a date, for example 2026-12-31.",
        ),
        "enum": ("Velg et av alternativene for {field}.", "Choose one of the options for {field}."),
        "literal_error": (
            "Velg et av alternativene for {field}.",
            "Choose one of the options for {field}.",
        ),
        "bool_parsing": ("Velg ja eller nei for {field}.", "Choose yes or no for {field}."),
        "extra_forbidden": (
            "{field} hører ikke til dette skjemaet; last siden på nytt.",
            "{field} does not belong to this form; reload the page.",
        ),
        "control_characters": (
            "{field} kan ikke inneholde kontrolltegn; skriv teksten på nytt.",
            "{field} cannot contain control characters; type the text again.",
        ),
        "single_line": ("{field} må stå på én linje.", "{field} must be on one line."),
        "url": (
            "{field} må være en nettadresse som begynner med https://.",
            "{field} must be a web address starting with https://.",
        ),
        "value_error": ("Sjekk {field} og prøv igjen.", "Check {field} and try again."),
        "invalid": ("Sjekk {field} og prøv igjen.", "Check {field} and try again."),
    },
)
