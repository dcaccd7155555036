"""Common and breached passwords (ASVS 5.0 6.2.4: at least the top 3,000): rejected.

The list is zxcvbn's (the maintained Python port, MIT licence): the 30,000 most frequent
passwords of a 10-million-password breach corpus (Xato), of which about 11,600 are long
enough to pass the 8-character minimum; plus the words a GreenNet or Home Assistant user
reaches for first and keyboard and season patterns the corpus ranks lower (the list this
project used before). Compared after NFKC normalization, ignoring case.
"""

from __future__ import annotations

from typing import Final

from zxcvbn.frequency_lists import FREQUENCY_LISTS

from .passwords_policy import MAX_LENGTH, MIN_LENGTH

EXTRA_WORDS: Final = frozenset(
    """
    00000000 11111111 11112222 11223344 12121212 123123123 12341234 12345678 123456789
    1234567890 12345678910 123456abc 123456qwerty 1234qwer 123654789 123qweasd 123qweasdzxc
    13131313 147258369 159753456 1password 1q2w3e4r 1q2w3e4r5t 1qaz2wsx 1qazxsw2 22222222
    33333333 44444444 55555555 66666666 77777777 87654321 88888888 987654321 99999999 a1234567
    a12345678 aa123456 abc12345 abc123456 abcd1234 abcdefgh access14 admin123 administrator
    asdf1234 asdfghjk asdfghjkl autumn2024 autumn2025 autumn2026 azerty123 azertyui babygirl1
    baseball baseball1 basketball batman123 changeme changeme1 charlie1 computer contraseña
    default1 dragon123 energymonitor esphome123 football football1 freedom1 fuckyou1 google123
    greennet greennet1 greennet123 greennet2024 greennet2025 greennet2026 greennetcloud guest123
    hello123 hellohello homeassistant homeassistant1 homeassistant123 iloveyou iloveyou1
    iloveyou2 internet jennifer jordan23 killer12 letmein1 letmein123 login123 lovely123
    loveme12 master123 michelle monkey123 motdepasse mustang1 myspace1 p@ssw0rd p@ssword
    pa55word passw0rd password password! password1 password12 password123 password1234 passwort
    pokemon1 princess q1w2e3r4 q1w2e3r4t5 qazwsx123 qazwsxedc qwer1234 qwerty12 qwerty123
    qwertyui qwertyuiop qwertz123 root1234 samsung1 secret12 secret123 shadow12 smartplug
    smartplug1 smartplug123 spring2024 spring2025 spring2026 starwars summer2024 summer2025
    summer2026 sunshine superman test1234 testtest trustno1 user1234 wachtwoord welcome!
    welcome1 welcome123 whatever winter2024 winter2025 winter2026 zaq12wsx zaq1zaq1 zxcvbnm1
    zxcvbnm123
    """.split()  # noqa: SIM905 (a word list reads better than quoted strings)
)

COMMON_PASSWORDS: Final = (
    frozenset(word.casefold() for word in FREQUENCY_LISTS["passwords"]) | EXTRA_WORDS
)

# the entries the length rules do not already refuse
POLICY_RELEVANT: Final = sorted(
    word for word in COMMON_PASSWORDS if MIN_LENGTH <= len(word) <= MAX_LENGTH
)
# what the OpenAPI schema lists by name: the project's own additions. All 11,600 would make
# the document 200 kB and JSON-Schema test generators crawl (minutes per operation).
SCHEMA_EXAMPLES: Final = sorted(
    word for word in EXTRA_WORDS if MIN_LENGTH <= len(word) <= MAX_LENGTH
)
