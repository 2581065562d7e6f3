"""[email] and [[subscribers]]: defaults, addresses, and errors naming file and key."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT

from aggregator.config.mail import EMAIL_SCHEMA, SUBSCRIBER_SCHEMA, normalize_address
from aggregator.config.settings import load_config
from aggregator.errors import ConfigError

MINIMAL = '[email]\nfrom = "digest@example.org"\n'


def test_no_email_table_means_sending_is_off(write_config: Callable[[str], Path]) -> None:
    settings = load_config(write_config(""))
    assert settings.email is None and settings.subscribers == ()


def test_defaults(write_config: Callable[[str], Path]) -> None:
    settings = load_config(
        write_config(MINIMAL + '[[subscribers]]\nemail = "Reader@Example.ORG"\n')
    )
    email = settings.email
    assert email is not None
    assert (email.smtp_host, email.smtp_port, email.security) == ("localhost", 25, "none")
    assert email.sender.addr_spec == "digest@example.org"
    assert email.list_id == "digest.example.org"
    assert email.send_empty is False and email.max_retries == 3
    assert email.resume_days == 3
    (subscriber,) = settings.subscribers
    assert subscriber.email == "Reader@example.org"  # the domain is case-insensitive
    assert subscriber.categories == () and subscriber.format == "html"


def test_a_remote_server_defaults_to_starttls_on_587(write_config: Callable[[str], Path]) -> None:
    email = load_config(write_config(MINIMAL + 'smtp_host = "smtp.example.org"\n')).email
    assert email is not None and (email.security, email.smtp_port) == ("starttls", 587)
    tls = load_config(write_config(MINIMAL + 'smtp_host = "mx"\nsecurity = "tls"\n')).email
    assert tls is not None and tls.smtp_port == 465


def test_the_example_config_documents_every_email_key() -> None:
    example = (ROOT / "config" / "example.toml").read_text(encoding="utf-8")
    for key in [*EMAIL_SCHEMA, *SUBSCRIBER_SCHEMA]:
        assert re.search(rf"^#?\s*{key} = ", example, re.M), f"{key} undocumented"
    settings = load_config(ROOT / "config" / "example.toml")
    assert settings.email is not None and settings.subscribers[0].keywords == ("agent", "大模型")


@pytest.mark.parametrize(
    "address",
    ["a@example.org", "first.last+tag@sub.example.co.uk", "用户@例子.测试", "x@bücher.example"],
)
def test_good_addresses(address: str) -> None:
    assert normalize_address(address).lower() == address.lower()


@pytest.mark.parametrize(
    "address",
    [
        "plainaddress",
        "@example.org",
        "a@",
        "a@localhost",
        "a..b@example.org",
        ".a@example.org",
        "a b@example.org",
        "a@exa mple.org",
        "a@-example.org",
        '"quoted"@example.org',
        "a@example..org",
    ],
)
def test_bad_addresses(address: str) -> None:
    with pytest.raises(ValueError):
        normalize_address(address)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[email]\n", r"email\.from: the sender address is required"),
        (MINIMAL + "smtp_prot = 25\n", r"email\.smtp_prot: unknown key"),
        (MINIMAL + 'security = "ssl"\n', r"email\.security: unknown security 'ssl'"),
        (MINIMAL + "smtp_port = 70000\n", r"email\.smtp_port: 70000 is not a TCP port"),
        (MINIMAL + 'username = "u"\n', r"email\.password_env: give both"),
        (MINIMAL + 'password_env = "hunter2!"\n', r"email\.username: give both"),
        (
            MINIMAL + 'username = "u"\npassword_env = "my secret"\n',
            r"email\.password_env: 'my secret' is not an environment variable name",
        ),
        (
            MINIMAL + 'smtp_host = "mx.example.org"\nsecurity = "none"\nusername = "u"\n'
            'password_env = "P"\n',
            r"email\.security: would send the password unencrypted",
        ),
        ('[email]\nfrom = "not an address"\n', r"email\.from: .* is not an email address"),
        (MINIMAL + 'reply_to = "a@b"\n', r"email\.reply_to: .*not a valid domain"),
        (MINIMAL + 'unsubscribe_url = "ftp://x/"\n', r"email\.unsubscribe_url: expected"),
        (MINIMAL + "send_empty = 1\n", r"email\.send_empty: expected bool"),
        (MINIMAL + "max_html_bytes = 500\n", r"email\.max_html_bytes: must be at least"),
        (MINIMAL + 'list_id = "no spaces allowed"\n', r"email\.list_id: .* not a list id"),
        ("[[subscribers]]\nname = 'x'\n", r"subscribers\[0\]\.email: every subscriber needs"),
        (
            '[[subscribers]]\nemail = "a@example"\n',
            r"subscribers\[0\] \(a@example\)\.email: .*not a valid domain",
        ),
        (
            '[[subscribers]]\nemail = "a@x.org"\nformat = "pdf"\n',
            r"subscribers\[0\] \(a@x\.org\)\.format: unknown format 'pdf'",
        ),
        (
            '[[subscribers]]\nemail = "a@x.org"\ncategories = "cs.AI"\n',
            r"subscribers\[0\]\.categories: expected list",
        ),
        (
            '[[subscribers]]\nemail = "a@x.org"\nkeywords = [""]\n',
            r"subscribers\[0\] \(a@x\.org\)\.keywords: expected a list of non-empty strings",
        ),
        ('[[subscribers]]\nemail = "a@x.org"\ncolour = 1\n', r"subscribers\[0\]\.colour: unknown"),
        (
            '[[subscribers]]\nemail = "a@x.org"\n[[subscribers]]\nemail = "A@X.org"\n',
            r"A@x\.org is listed twice",
        ),
    ],
)
def test_bad_email_config_names_the_file_and_key(
    write_config: Callable[[str], Path], text: str, message: str
) -> None:
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert re.search(message, str(info.value)), str(info.value)


def test_resume_days_must_not_be_negative(write_config: Callable[[str], Path]) -> None:
    with pytest.raises(ConfigError, match=r"email\.resume_days.*must not be negative"):
        load_config(write_config(MINIMAL + "resume_days = -1\n"))
    email = load_config(write_config(MINIMAL + "resume_days = 0\n")).email
    assert email is not None and email.resume_days == 0
