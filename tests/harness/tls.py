"""Certificates for the TLS tests, made with the openssl command at test
time: a CA, a server certificate for 127.0.0.1 and localhost signed by it, a
client certificate signed by it, and a second CA that signed neither (the
wrong CA). EC P-256 keys: quick to make, quick to handshake.

    certs = Certs(workdir)
    Redis(workdir, tls=certs)          # a tls-port beside the plain port"""

import os
import subprocess


def _openssl(*args):
    r = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (args[0], r.stderr.strip()))


def _key_args(key):
    return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key]


class Certs:
    """The files, by attribute: ca, server_cert, server_key, client_cert,
    client_key, wrong_ca (each a path in workdir)."""

    def __init__(self, workdir):
        os.makedirs(workdir, exist_ok=True)
        p = lambda name: os.path.join(workdir, name)
        self.workdir = workdir
        self.ca, self.ca_key = p("ca.crt"), p("ca.key")
        self.wrong_ca, self.wrong_ca_key = p("wrong-ca.crt"), p("wrong-ca.key")
        self.server_cert, self.server_key = p("server.crt"), p("server.key")
        self.client_cert, self.client_key = p("client.crt"), p("client.key")
        for crt, key, cn in ((self.ca, self.ca_key, "redisroute test CA"),
                             (self.wrong_ca, self.wrong_ca_key, "some other CA")):
            _openssl("req", "-x509", "-new", *_key_args(key), "-out", crt, "-days", "2",
                     "-subj", "/CN=" + cn)
        self._signed(self.server_cert, self.server_key, "localhost",
                     "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        self._signed(self.client_cert, self.client_key, "redisroute", "")

    def _signed(self, crt, key, cn, ext):
        csr, extfile = crt + ".csr", crt + ".ext"
        with open(extfile, "w") as f:
            f.write(ext or "basicConstraints=CA:FALSE\n")
        _openssl("req", "-new", *_key_args(key), "-out", csr, "-subj", "/CN=" + cn)
        _openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                 "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", extfile)

    def server_args(self, tls_port, auth_clients=False):
        """redis-server (or sentinel) arguments for a TLS port beside the
        plain one, with this CA for the clients' certificates."""
        return ["--tls-port", str(tls_port), "--tls-cert-file", self.server_cert,
                "--tls-key-file", self.server_key, "--tls-ca-cert-file", self.ca,
                "--tls-auth-clients", "yes" if auth_clients else "no"]

    def cli_args(self):
        """redis-cli arguments to speak TLS to such a port."""
        return ["--tls", "--cacert", self.ca, "--cert", self.client_cert,
                "--key", self.client_key]
