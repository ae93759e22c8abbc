"""Throwaway X.509 material for TLS tests, made with the openssl CLI.

    pki = TestPKI(harness.mkdir("pki"))
    pki.ca.cert                      # PEM of the test CA that clients should trust
    good = pki.server("good")        # SAN IP:127.0.0.1, IP:::1, DNS:localhost, signed by the CA
    bad = pki.server("wrong-host")   # SAN DNS:wrong.example only, signed by the same CA
    rogue = pki.server("untrusted")  # right names, signed by a second CA nobody trusts
    good.cert, good.key, good.chain  # paths (chain = cert followed by its CA)

Lower level: make_ca(dir, name) and make_cert(dir, name, ca, sans, server=True).
Keys are RSA 2048 (what every TLS stack accepts); each takes well under a second.
"""

import pathlib
import subprocess

GOOD_SANS = ("IP:127.0.0.1", "IP:::1", "DNS:localhost")
WRONG_HOST_SANS = ("DNS:wrong.example",)
CERT_KINDS = ("good", "wrong-host", "untrusted")


class CertPair:
    """A certificate and its key (PEM paths), with the CA that signed it."""

    def __init__(self, cert, key, ca=None):
        self.cert = pathlib.Path(cert)
        self.key = pathlib.Path(key)
        self.ca = ca
        self.chain = self.cert
        if ca is not None:
            self.chain = self.cert.with_name(self.cert.stem + "-chain.pem")
            self.chain.write_text(self.cert.read_text() + ca.cert.read_text())

    def __repr__(self):
        return f"<CertPair {self.cert}>"


def _openssl(*args, cwd=None):
    done = subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=60, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(map(str, args))} failed:\n{done.stderr}")
    return done.stdout


def _genkey(path):
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
             "-out", path)
    path.chmod(0o600)


def make_ca(directory, name="ca", subject="Dialtone Test CA", days=30):
    """A self-signed CA: returns CertPair(dir/NAME.pem, dir/NAME.key)."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    key = directory / f"{name}.key"
    cert = directory / f"{name}.pem"
    _genkey(key)
    _openssl("req", "-x509", "-new", "-key", key, "-sha256", "-days", days,
             "-subj", f"/O=Dialtone tests/CN={subject}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-addext", "subjectKeyIdentifier=hash",
             "-out", cert)
    return CertPair(cert, key)


def make_cert(directory, name, ca, sans=GOOD_SANS, cn=None, server=True, days=30):
    """A leaf certificate signed by `ca` with the given subjectAltNames
    (openssl syntax: "IP:127.0.0.1", "DNS:localhost")."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    key = directory / f"{name}.key"
    csr = directory / f"{name}.csr"
    cert = directory / f"{name}.pem"
    ext = directory / f"{name}.ext"
    usage = "serverAuth" if server else "clientAuth"
    ext.write_text("basicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature,keyEncipherment\n"
                   f"extendedKeyUsage={usage}\n"
                   "subjectKeyIdentifier=hash\n"
                   "authorityKeyIdentifier=keyid\n"
                   f"subjectAltName={','.join(sans)}\n")
    if cn is None:
        first = sans[0] if sans else "IP:127.0.0.1"
        cn = first.split(":", 1)[1]
    _genkey(key)
    _openssl("req", "-new", "-key", key, "-subj", f"/O=Dialtone tests/CN={cn}", "-out", csr)
    _openssl("x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key,
             "-CAcreateserial", "-CAserial", directory / f"{ca.cert.stem}.srl",
             "-sha256", "-days", days, "-extfile", ext, "-out", cert)
    return CertPair(cert, key, ca)


class TestPKI:
    """A test CA (the one to trust), a second untrusted CA (made on demand),
    and server certificates of the kinds tests need."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory):
        self.dir = pathlib.Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = make_ca(self.dir, "ca", "Dialtone Test CA")
        self._untrusted_ca = None
        self._servers = {}

    @property
    def ca_file(self):
        return self.ca.cert

    @property
    def untrusted_ca(self):
        if self._untrusted_ca is None:
            self._untrusted_ca = make_ca(self.dir, "untrusted-ca", "Untrusted Test CA")
        return self._untrusted_ca

    def server(self, kind="good"):
        """"good": SAN IP:127.0.0.1, IP:::1, DNS:localhost, signed by self.ca;
        "wrong-host": SAN DNS:wrong.example only, signed by self.ca;
        "untrusted": the good names, signed by a CA clients do not trust."""
        if kind not in self._servers:
            if kind == "good":
                pair = make_cert(self.dir, "server", self.ca, GOOD_SANS)
            elif kind == "wrong-host":
                pair = make_cert(self.dir, "server-wrong-host", self.ca, WRONG_HOST_SANS)
            elif kind == "untrusted":
                pair = make_cert(self.dir, "server-untrusted", self.untrusted_ca, GOOD_SANS)
            else:
                raise ValueError(f"unknown certificate kind {kind!r}; one of {CERT_KINDS}")
            self._servers[kind] = pair
        return self._servers[kind]

    def client(self, name="client", cn="dialtone-client"):
        """A client certificate signed by the trusted CA (for mutual TLS)."""
        return make_cert(self.dir, name, self.ca, (f"DNS:{cn}",), cn=cn, server=False)
