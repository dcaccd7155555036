"""Passwords that appear at the top of every breach corpus (ASVS 5: reject them).

Compared case-insensitively. The list is short on purpose: it blocks what an online
guessing attack tries first; length ≥ 8 already rules out most of the rest.
"""

from __future__ import annotations

from typing import Final

COMMON_PASSWORDS: Final = frozenset(
    """
    12345678 123456789 1234567890 12345678910 123123123 11111111 00000000 88888888 87654321
    11223344 12341234 1q2w3e4r 1q2w3e4r5t 1qaz2wsx 1qazxsw2 zaq12wsx zaq1zaq1 qwertyui
    qwertyuiop qwerty123 qwerty12 qwer1234 asdfghjk asdfghjkl asdf1234 zxcvbnm1 zxcvbnm123
    password password1 password12 password123 password1234 passw0rd p@ssw0rd p@ssword
    pa55word passwort motdepasse contraseña wachtwoord iloveyou iloveyou1 sunshine princess
    football baseball basketball superman batman123 starwars whatever trustno1 welcome1
    welcome123 letmein1 letmein123 changeme changeme1 monkey123 dragon123 master123 abc12345
    abcd1234 abcdefgh abc123456 aa123456 a1234567 a12345678 q1w2e3r4 q1w2e3r4t5 computer
    internet michelle jennifer jordan23 charlie1 shadow12 mustang1 access14 qazwsxedc
    qazwsx123 1234qwer 123qweasd 123qweasdzxc admin123 administrator root1234 test1234
    testtest guest123 user1234 login123 secret12 secret123 default1 homeassistant greennet
    greennet1 greennet123 smartplug iloveyou2 football1 baseball1 babygirl1 lovely123
    freedom1 1password 987654321 123654789 147258369 159753456 123456abc myspace1 loveme12
    fuckyou1 killer12 pokemon1 hello123 hellohello samsung1 google123 azertyui azerty123
    qwertz123 11112222 12121212 13131313 55555555 66666666 77777777 99999999 22222222
    33333333 44444444 123456qwerty password! welcome! summer2024 winter2024 spring2024
    autumn2024 summer2025 winter2025 spring2025 autumn2025
    """.split()  # noqa: SIM905 (a word list reads better than 200 quoted strings)
)
