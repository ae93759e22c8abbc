"""Accounts and registration against a real registrar (Kamailio on loopback).

Every test checks the registrar's own view (its location table, the
REGISTERs it logged), not only dialtoned's State.
"""

import time

import pytest

from harness import Kamailio, Sipp, wait_for

ACCOUNT = "org.dialtone.Phone1.Account"
# Short SIP timers so failures show in seconds, not in timer F's 32 s.
FAST_SIP = "[sip]\ntransaction-timeout=3\n"


@pytest.fixture
def kamailio(harness):
    return Kamailio(harness, users={"alice": "secret", "bob": "bobpass", "eve": "evepass"},
                    forbidden_users=["eve"])


@pytest.fixture
def phone(harness):
    return harness.daemon("phone", config=FAST_SIP).start()


def registrar_uri(k, transport):
    if transport == "tls":
        # Sofia reads no /etc/hosts and checks only DNS names in certificates:
        # name the server as its certificate does, reach it by address.
        return f"sips:localhost:{k.tls_port};maddr=127.0.0.1"
    return k.uri(transport)


def last_call(requests):
    """The requests of the most recent Call-ID (one registration attempt)."""
    return [r for r in requests if r["callid"] == requests[-1]["callid"]]


def add_alice(phone, k, transport="udp", password="secret", **settings):
    extra = {"tls_ca_file": k.ca_file} if transport == "tls" else {}
    extra.update(settings)
    return phone.add_account("alice", password=password, address="sip:alice@127.0.0.1",
                             registrar=registrar_uri(k, transport), transport=transport,
                             local_address="127.0.0.1", **extra)


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_register_with_digest_auth(harness, phone, transport):
    k = Kamailio(harness, users={"alice": "secret"}, tls=transport == "tls")
    add_alice(phone, k, transport, expires=300)
    props = phone.wait_account("alice", "registered")
    assert props["LastSipStatus"] == 200
    assert props["Transport"] == transport
    expires_in = props["RegistrationExpiresUSec"] / 1e6 - time.time()
    assert 250 < expires_in <= 300

    contacts = k.wait_contacts("alice")
    assert len(contacts) == 1
    assert contacts[0]["transport"].lower() == transport
    assert 250 < contacts[0]["expires"] <= 300
    # The password came after CreateAccount: the stack restarted with it.
    regs = last_call(k.register_requests("alice"))
    assert [(r["auth"], r["code"]) for r in regs] == [("no", 401), ("yes", 200)]


def test_refresh_before_expiry(harness, kamailio, phone):
    add_alice(phone, kamailio, expires=10)
    first = phone.wait_account("alice", "registered")["RegistrationExpiresUSec"]
    before = len(kamailio.register_requests("alice"))
    # Watch the registrar for 12 s, longer than the granted 10 s: our
    # contact must never lapse there, and refreshes must arrive.
    deadline = time.monotonic() + 12
    while time.monotonic() < deadline:
        assert kamailio.contacts("alice"), "the contact lapsed at the registrar"
        time.sleep(0.5)
    refreshes = kamailio.register_requests("alice")[before:]
    # Sofia refreshes at 25-75 % of the granted time: at least once here.
    assert len([r for r in refreshes if r["code"] == 200]) >= 1
    assert all(r["expires"] == 10 for r in refreshes)
    assert phone.account("alice")["RegistrationExpiresUSec"] > first


def test_wrong_password_fails_without_retry_storm(kamailio, phone):
    add_alice(phone, kamailio, password="wrong")
    props = phone.wait_account("alice", "failed", "auth-failed")
    assert props["LastSipStatus"] == 401
    time.sleep(3)
    regs = last_call(kamailio.register_requests("alice"))
    # The challenge, then exactly one answer with (wrong) credentials.
    assert [(r["auth"], r["code"]) for r in regs] == [("no", 401), ("yes", 401)]
    assert len(kamailio.register_requests("alice")) <= 3
    assert phone.account("alice")["State"] == "failed"
    assert kamailio.contacts("alice") == []

    # A new password is a new attempt, and it works.
    phone.call(phone.account_path("alice"), ACCOUNT, "SetPassword", "(s)", ("secret",))
    phone.wait_account("alice", "registered")
    assert kamailio.wait_contacts("alice")


def test_forbidden_is_final(kamailio, phone):
    phone.add_account("eve", password="evepass", address="sip:eve@127.0.0.1",
                      registrar=kamailio.uri("udp"), local_address="127.0.0.1")
    props = phone.wait_account("eve", "failed", "forbidden")
    assert props["LastSipStatus"] == 403
    count = len(kamailio.register_requests("eve"))
    time.sleep(3)
    assert len(kamailio.register_requests("eve")) == count


def test_min_expires_is_honoured(harness, phone):
    k = Kamailio(harness, users={"alice": "secret"}, min_expires=60)
    add_alice(phone, k, expires=20)
    props = phone.wait_account("alice", "registered")
    assert 50 < props["RegistrationExpiresUSec"] / 1e6 - time.time() <= 60
    codes = [(r["expires"], r["code"]) for r in k.register_requests("alice")]
    assert (20, 423) in codes and (60, 200) in codes
    assert 50 < k.contacts("alice")[0]["expires"] <= 60


def test_registrar_down_then_back(kamailio, phone):
    add_alice(phone, kamailio)
    phone.wait_account("alice", "registered")
    kamailio.stop()
    # Force a new registration while the registrar is away.
    phone.call(phone.account_path("alice"), ACCOUNT, "Register")
    props = phone.wait_account("alice", "failed", "timeout")
    assert props["LastSipStatus"] in (408, 503)
    # It keeps trying with growing delays (1 s, 2 s, ...).
    retries = phone.output().count("Account alice: retrying in")
    wait_for(lambda: phone.output().count("Account alice: retrying in") >= retries + 2, 15,
             what="two more retries")
    kamailio.start()
    phone.wait_account("alice", "registered", timeout=30)
    assert kamailio.wait_contacts("alice")


def test_no_answer_is_a_timeout(harness, phone):
    silent = Sipp.uas(harness, "uas-register-silent.xml")
    phone.add_account("alice", password="secret", address="sip:alice@127.0.0.1",
                      registrar=silent.uri(), local_address="127.0.0.1")
    started = time.monotonic()
    props = phone.wait_account("alice", "failed", "timeout", timeout=20)
    # transaction-timeout=3 in the test config.
    assert 2.5 < time.monotonic() - started < 10
    assert props["LastSipStatus"] == 408
    assert len(silent.requests("REGISTER")) >= 1


def test_server_error_retries(harness, phone):
    replier = Sipp.register_replier(harness, 500)
    phone.add_account("alice", password="secret", address="sip:alice@127.0.0.1",
                      registrar=replier.uri(), local_address="127.0.0.1")
    props = phone.wait_account("alice", "failed", "server-error")
    assert props["LastSipStatus"] == 500
    wait_for(lambda: len(replier.requests("REGISTER")) >= 2, 10, what="a retry")


@pytest.mark.parametrize("how", ["disable", "remove", "sigterm", "unregister"])
def test_unregister_reaches_the_registrar(kamailio, phone, how):
    path = add_alice(phone, kamailio)
    phone.wait_account("alice", "registered")
    assert kamailio.wait_contacts("alice")
    if how == "disable":
        assert phone.ctl("account", "disable", "alice").returncode == 0
        assert phone.account("alice")["State"] == "disabled"
    elif how == "remove":
        assert phone.ctl("account", "remove", "alice").returncode == 0
        assert path not in phone.manager_prop("Accounts")
        assert not (phone.config_dir / "accounts" / "alice.account").exists()
    elif how == "unregister":
        assert phone.ctl("account", "unregister", "alice").returncode == 0
        phone.wait_account("alice", "unregistered", "user-request")
    else:
        assert phone.stop() == 0, phone.output()
    kamailio.wait_contacts("alice", lambda c: c == [], timeout=5)
    last = kamailio.register_requests("alice")[-1]
    assert (last["expires"], last["code"]) == (0, 200)


def test_sigterm_is_bounded_when_registrar_is_gone(kamailio, phone):
    add_alice(phone, kamailio)
    phone.wait_account("alice", "registered")
    kamailio.stop()
    started = time.monotonic()
    assert phone.stop() == 0, phone.output()
    assert time.monotonic() - started < 10


def test_keepalive_options_reach_the_registrar(kamailio, phone):
    # Keepalive OPTIONS go to our own address, through the outbound proxy:
    # here (as in most deployments) the registrar itself.
    mark = kamailio.mark()
    add_alice(phone, kamailio, keepalive_interval=1, outbound_proxy=kamailio.uri("udp"))
    phone.wait_account("alice", "registered")
    # Counted from the registration on: the first keepalive can come
    # before the state change is seen here.
    try:
        wait_for(lambda: len(kamailio.requests("OPTIONS", since=mark)) >= 2, phone.harness.timeout(6),
                 interval=0.2, what="keepalive OPTIONS")
    except TimeoutError:
        raise AssertionError(kamailio.log()[-3000:]) from None


def test_fifty_accounts(harness, phone):
    users = {f"user{i:02d}": f"pw{i}" for i in range(50)}
    k = Kamailio(harness, users=users)
    started = time.monotonic()
    for user, password in users.items():
        phone.add_account(user, password=password, address=f"sip:{user}@127.0.0.1",
                          registrar=k.uri("udp"), local_address="127.0.0.1")
    for user in users:
        phone.wait_account(user, "registered", timeout=30)
    elapsed = time.monotonic() - started
    registered = k.all_contacts()
    assert sorted(aor.split("@")[0] for aor in registered) == sorted(users)
    rss = int([l for l in open(f"/proc/{phone.process.pid}/status") if l.startswith("VmRSS")][0].split()[1])
    print(f"\n50 accounts registered in {elapsed:.2f} s; RSS {rss / 1024:.1f} MiB")
