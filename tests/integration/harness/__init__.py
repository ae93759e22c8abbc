"""Test harness for Dialtone: private buses, dialtoned instances, dialtonectl,
and SIP peers (Kamailio as registrar/proxy, sipp as client or stand-in server,
baresip as the remote phone).

Everything a test starts is registered with a Harness, which stops it (and
its whole process group) when the test ends, pass or fail. Nothing listens
anywhere but on loopback and in the test's own temporary folder.
"""

from .core import Harness, Bus, Daemon, CtlResult, build_dir, project_version, free_port, wait_for
from .certs import TestPKI, make_ca, make_cert
from .kamailio import Kamailio, unique_port
from .sipp import Sipp, REGISTER_REPLY_CODES
from .sip_client import SipClient, bind_rtp_pair, sdp
from .baresip import (Baresip, BaresipControl, BaresipError, analyze_wav, make_source_wav,
                      wav_complete)

__all__ = ["Harness", "Bus", "Daemon", "CtlResult", "build_dir", "project_version",
           "free_port", "wait_for", "TestPKI", "make_ca", "make_cert", "Kamailio", "unique_port",
           "Sipp", "REGISTER_REPLY_CODES", "SipClient", "bind_rtp_pair", "sdp", "Baresip", "BaresipControl", "BaresipError",
           "analyze_wav", "make_source_wav", "wav_complete"]
