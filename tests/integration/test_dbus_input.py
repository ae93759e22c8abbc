"""Hostile input over D-Bus: every argument a client sends is checked, a bad
one gets a named error, and the daemon carries on as it was. Files that
clients name for PlayFile, StartRecording and file: endpoints are kept to
the configured folders when the daemon restricts them.

Everything goes over a real (private) bus to a real dialtoned; calls are
real SIP calls between two daemons on loopback.
"""

import os
import pathlib
import wave

import pytest
from gi.repository import Gio, GLib

from test_call_control import connect, lan_daemon
from test_calls import CALL, wait_state

ROOT = "/org/dialtone/Phone1"
MANAGER = "org.dialtone.Phone1.Manager"
ACCOUNT = "org.dialtone.Phone1.Account"
HISTORY = "org.dialtone.Phone1.History"
ERR = "org.dialtone.Phone1.Error."
DBUS_ERR = "org.freedesktop.DBus.Error."

S = GLib.Variant


def error_of(d, path, iface, method, signature=None, args=()):
    """The D-Bus error name and message a call gets (it must fail)."""
    with pytest.raises(GLib.Error) as e:
        d.call(path, iface, method, signature, args)
    name = Gio.DBusError.get_remote_error(e.value)
    return name, e.value.message.removeprefix(f"GDBus.Error:{name}: ")


def set_prop(d, path, iface, prop, value):
    d.call(path, "org.freedesktop.DBus.Properties", "Set", "(ssv)", (iface, prop, value))


def write_wav(path, seconds=1.0, rate=8000):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * int(rate * seconds))
    return path


def test_bad_arguments_get_named_errors(harness):
    d = lan_daemon(harness, "d")
    account = d.account_path("lan")
    settings_before = d.call(account, ACCOUNT, "GetSettings", reply="(a{sv})")[0]
    long_text = "x" * 5000
    secret = "hunter2-" + "p" * 5000

    def new_account(**extra):
        values = {"id": S("s", "x"), "address": S("s", "sip:x@127.0.0.1"), "enabled": S("b", False)}
        values.update({k.replace("_", "-"): S("s", v) for k, v in extra.items()})
        return (values,)

    cases = [
        # Lengths: a URI, a name, a password, an endpoint: 4096 bytes at most.
        (ROOT, MANAGER, "Dial", "(sa{sv})", (f"sip:{long_text}@127.0.0.1", {}),
         "InvalidArguments", "uri: longer than 4096 bytes"),
        (ROOT, MANAGER, "CreateAccount", "(a{sv})", new_account(display_name=long_text),
         "InvalidArguments", "display-name: longer than 4096 bytes"),
        (account, ACCOUNT, "SetPassword", "(s)", (secret,),
         "InvalidArguments", "password: longer than 4096 bytes"),
        (ROOT, MANAGER, "Dial", "(sa{sv})", ("sip:b@127.0.0.1", {"account": S("s", long_text)}),
         "InvalidArguments", "account: longer than 4096 bytes"),
        (ROOT, MANAGER, "SetLogLevel", "(s)", (long_text,), "InvalidArguments", "level: longer than 4096 bytes"),
        (account, ACCOUNT, "Dial", "(sa{sv})", ("sip:b@127.0.0.1", {"audio-sink": S("s", "alsa:" + long_text)}),
         "InvalidArguments", "audio-sink: longer than 4096 bytes"),
        # Control characters would end up in SIP headers, files and logs.
        (ROOT, MANAGER, "CreateAccount", "(a{sv})", new_account(display_name="Bob\r\nX-Injected: 1"),
         "InvalidArguments", "display-name: contains a control character (0x0d)"),
        (ROOT, MANAGER, "CreateAccount", "(a{sv})", new_account(user_agent="UA\nX-Injected: 1"),
         "InvalidArguments", "user-agent: contains a control character (0x0a)"),
        (account, ACCOUNT, "Update", "(a{sv})", ({"auth-user": S("s", "bob\tsmith")},),
         "InvalidArguments", "auth-user: contains a control character (0x09)"),
        (account, ACCOUNT, "SetPassword", "(s)", ("hunter2\x1b",),
         "InvalidArguments", "password: contains a control character (0x1b)"),
        (ROOT, MANAGER, "Dial", "(sa{sv})", ("sip:b@127.0.0.1", {"audio-source": S("s", "alsa:hw\n0")}),
         "InvalidArguments", "audio-source: contains a control character (0x0a)"),
        # Keys, types and values inside a{sv}.
        (ROOT, MANAGER, "Dial", "(sa{sv})", ("sip:b@127.0.0.1", {"volume": S("u", 11)}),
         "InvalidArguments", "volume: unknown key"),
        (ROOT, MANAGER, "Dial", "(sa{sv})", ("sip:b@127.0.0.1", {"hold-others": S("s", "yes")}),
         "InvalidArguments", "hold-others: expected a boolean, got a value of type 's'"),
        (ROOT, MANAGER, "Dial", "(sa{sv})", ("sip:b@127.0.0.1", {"account": S("u", 0)}),
         "InvalidArguments", "account: expected an id (s) or a path (o), got 'u'"),
        (ROOT, MANAGER, "CreateAccount", "(a{sv})", ({"id": S("as", ["x"])},),
         "InvalidArguments", "id: expected a string, got a value of type 'as'"),
        (ROOT, MANAGER, "CreateAccount", "(a{sv})", (dict(new_account()[0], **{"local-port": S("i", -1)}),),
         "InvalidArguments", "local-port: -1 is out of range (0 to 65535)"),
        (ROOT, MANAGER, "CreateAccount", "(a{sv})", (dict(new_account()[0], password=S("s", "pw")),),
         "InvalidArguments", "password: secrets are not settings"),
        (ROOT, HISTORY, "ListCalls", "(a{sv}uu)", ({"colour": S("s", "red")}, 0, 10),
         "InvalidArguments", "colour: unknown filter key"),
        # Empty strings, and paths that name nothing.
        (ROOT, MANAGER, "Dial", "(sa{sv})", ("", {}), "InvalidArguments", "uri: is empty"),
        (ROOT, MANAGER, "SetLogLevel", "(s)", ("",), "InvalidArguments", "'' is not a log level"),
        (ROOT, MANAGER, "Dial", "(sa{sv})", ("sip:b@127.0.0.1", {"account": S("o", "/nowhere")}),
         "NotFound", "no account at /nowhere"),
        (ROOT, MANAGER, "RemoveAccount", "(o)", ("/",), "NotFound", "no account at /"),
        (ROOT, MANAGER, "RemoveAccount", "(o)", (ROOT + "/Account/99",), "NotFound", "no account at"),
        (ROOT, MANAGER, "CreateConference", "(ao)", ([],), "InvalidArguments", "calls: a conference needs two"),
        (ROOT, MANAGER, "CreateConference", "(ao)", ([ROOT + "/Call/7", ROOT + "/Call/8"],),
         "NotFound", "calls: no call at"),
    ]
    for path, iface, method, sig, args, name, message in cases:
        got_name, got_message = error_of(d, path, iface, method, sig, args)
        assert (got_name, got_message[:len(message)]) == (ERR + name, message), (method, got_message[:200])
        assert secret not in got_message and "hunter2" not in got_message
        assert d.process.alive()

    # Writable properties: values are checked like arguments.
    for prop, value, name, message in [
        ("DefaultAccount", S("o", ROOT + "/Account/99"), "NotFound", "no account at"),
        ("AudioSink", S("s", "alsa:x\ny"), "InvalidArguments", "AudioSink: contains a control character"),
        ("AudioSource", S("s", "file:" + "/x" * 3000), "InvalidArguments", "AudioSource: longer than 4096"),
        ("AudioSource", S("s", "file:relative.wav"), "InvalidArguments", "AudioSource: 'relative.wav'"),
    ]:
        got_name, got_message = error_of(d, ROOT, "org.freedesktop.DBus.Properties", "Set", "(ssv)",
                                         (MANAGER, prop, value))
        assert (got_name, got_message[:len(message)]) == (ERR + name, message), (prop, got_message)

    # The wrong D-Bus types never reach the daemon's code: GDBus refuses
    # them against the introspection data, with the standard names.
    for path, iface, method, sig, args, name in [
        (ROOT, MANAGER, "Dial", "(s)", ("sip:b@127.0.0.1",), "InvalidArgs"),
        (ROOT, MANAGER, "Dial", "(sa{ss})", ("sip:b@127.0.0.1", {"account": "lan"}), "InvalidArgs"),
        (ROOT, "org.freedesktop.DBus.Properties", "Set", "(ssv)", (ACCOUNT, "Enabled", S("s", "yes")),
         "InvalidArgs"),
        (account, "org.freedesktop.DBus.Properties", "Set", "(ssv)", (ACCOUNT, "Enabled", S("s", "no")),
         "InvalidArgs"),
        (ROOT, "org.freedesktop.DBus.Properties", "Set", "(ssv)", (MANAGER, "Version", S("s", "9")),
         "InvalidArgs"),
        (ROOT, MANAGER, "Explode", None, (), "UnknownMethod"),
        (ROOT + "/Call/12345", CALL, "Hangup", None, (), "UnknownMethod"),
    ]:
        got_name, _ = error_of(d, path, iface, method, sig, args)
        assert got_name == DBUS_ERR + name, (method, sig, got_name)

    # Nothing of it stuck: one account, its settings as they were, no call.
    assert d.process.alive()
    assert d.manager_prop("Accounts") == [account]
    assert d.manager_prop("Calls") == []
    assert d.call(account, ACCOUNT, "GetSettings", reply="(a{sv})")[0] == settings_before
    assert sorted(p.name for p in (d.config_dir / "accounts").iterdir()) == ["lan.account"]
    assert "hunter2" not in d.output()


def test_restricted_paths_stay_in_their_folders(harness, tmp_path):
    prompts, recordings, elsewhere = (tmp_path / n for n in ("prompts", "recordings", "elsewhere"))
    for folder in (prompts, recordings, elsewhere):
        folder.mkdir()
    hello = write_wav(prompts / "hello.wav", seconds=10)
    secret = write_wav(elsewhere / "secret.wav")
    (prompts / "link-in").symlink_to("hello.wav")
    (prompts / "link-out").symlink_to(secret)
    (prompts / "up").symlink_to(tmp_path)
    (recordings / "escape").symlink_to(elsewhere / "escaped.wav")
    (recordings / "to-secret").symlink_to(secret)
    secret_before = secret.read_bytes()

    a = lan_daemon(harness, "a", extra=f"restrict-paths=true\nplay-directories={prompts}\n"
                                       f"record-directories={recordings}\n")
    b = lan_daemon(harness, "b")  # the session default: any path
    assert f"restricted: play from {prompts}; record to {recordings}" in a.output()
    call, call_b = connect(a, b)

    def refused(method, path, name="AccessDenied"):
        got_name, message = error_of(a, call, CALL, method, "(sa{sv})", (str(path), {}))
        assert got_name == ERR + name, (method, path, message)
        return message

    # Playing: inside, here through a link that stays inside. (It plays on:
    # the refusals below never touch the call's media.)
    a.call(call, CALL, "PlayFile", "(sa{sv})", (str(prompts / "link-in"), {}))
    message = refused("PlayFile", secret)
    assert f"is outside the folders allowed for playing ({prompts})" in message
    for path in (prompts / ".." / "elsewhere" / "secret.wav", prompts / "link-out",
                 prompts / "up" / "elsewhere" / "secret.wav", "/etc/passwd", recordings / "escape",
                 elsewhere / "missing.wav", "/nonexistent/folder/x.wav"):
        refused("PlayFile", path)
    refused("PlayFile", prompts / "missing.wav", "NotFound")
    refused("PlayFile", "relative.wav", "InvalidArguments")

    # Recording: inside only; a link out, or to nowhere, is not followed.
    out = recordings / "call.wav"
    a.call(call, CALL, "StartRecording", "(sa{sv})", (str(out), {}))
    assert a.get(call, CALL, "Recording") == os.path.realpath(out)
    assert out.exists()
    for path in (recordings / ".." / "elsewhere" / "out.wav", recordings / "escape", recordings / "to-secret",
                 prompts / "rec.wav", elsewhere / "rec.wav", "/etc/passwd", "/proc/self/fd/1"):
        refused("StartRecording", path)
    refused("StartRecording", recordings / "no-such-folder" / "x.wav", "NotFound")
    a.call(call, CALL, "StopRecording")
    assert sorted(p.name for p in elsewhere.iterdir()) == ["secret.wav"]
    assert secret.read_bytes() == secret_before
    assert sorted(p.name for p in prompts.iterdir()) == ["hello.wav", "link-in", "link-out", "up"]

    # file: endpoints follow the same rules: a source is read, a sink written.
    for prop, value, name in [("AudioSource", f"file:{secret}", "AccessDenied"),
                              ("AudioSource", f"file:{prompts}/../elsewhere/secret.wav", "AccessDenied"),
                              ("AudioSink", f"file:{elsewhere}/sink.wav", "AccessDenied"),
                              ("AudioSink", f"file:{recordings}/escape", "AccessDenied")]:
        got_name, message = error_of(a, ROOT, "org.freedesktop.DBus.Properties", "Set", "(ssv)",
                                     (MANAGER, prop, S("s", value)))
        assert got_name == ERR + name and message.startswith(f"{prop}: "), (prop, value, message)
    set_prop(a, ROOT, MANAGER, "AudioSource", S("s", f"file:{prompts}/link-in"))
    assert a.manager_prop("AudioSource") == f"file:{os.path.realpath(hello)}"
    set_prop(a, ROOT, MANAGER, "AudioSink", S("s", f"file:{recordings}/default.wav"))
    for key, value in (("audio-sink", f"file:{elsewhere}/x.wav"), ("audio-source", f"file:{secret}")):
        got_name, message = error_of(a, ROOT, MANAGER, "Dial", "(sa{sv})",
                                     (f"sip:b@127.0.0.1:{b.port}", {key: S("s", value)}))
        assert got_name == ERR + "AccessDenied" and message.startswith(f"{key}: "), message
    assert a.manager_prop("Calls") == [call]
    assert not (elsewhere / "x.wav").exists() and not (elsewhere / "sink.wav").exists()

    # Unrestricted, the same request is simply done (the daemon is the user).
    free = elsewhere / "free.wav"
    b.call(call_b, CALL, "StartRecording", "(sa{sv})", (str(free), {}))
    assert free.exists()
    assert wait_state(a, call, "active")
    a.call(call, CALL, "Hangup")
    wait_state(b, call_b, "terminated")


@pytest.mark.parametrize("text,problem", [
    ("[media]\nplay-directories=prompts\n", "[media] play-directories: 'prompts' is not an absolute path"),
    ("[media]\nrestrict-paths=maybe\n", "[media] restrict-paths: 'maybe' is not a boolean"),
])
def test_bad_folder_settings_stop_startup(harness, text, problem):
    d = harness.daemon(config=text)
    d.start(wait=False)
    assert d.wait_exit() == 78
    assert problem in d.output()


def test_default_folders_are_made_in_the_data_folder(harness):
    d = harness.daemon(config="[media]\nrestrict-paths=true\naudio-source=silence\naudio-sink=null\n").start()
    for name in ("prompts", "recordings"):
        folder = d.data_dir / name
        assert folder.is_dir() and (folder.stat().st_mode & 0o777) == 0o700
    assert (f"restricted: play from {d.data_dir / 'prompts'}; record to {d.data_dir / 'recordings'}"
            in d.output())
    write_wav(d.data_dir / "prompts" / "ok.wav")
    set_prop(d, ROOT, MANAGER, "AudioSource", S("s", f"file:{d.data_dir / 'prompts' / 'ok.wav'}"))
    got_name, _ = error_of(d, ROOT, "org.freedesktop.DBus.Properties", "Set", "(ssv)",
                           (MANAGER, "AudioSource", S("s", f"file:{pathlib.Path(__file__)}")))
    assert got_name == ERR + "AccessDenied"
