#!/usr/bin/python3
"""Makes the jwt filter's fixed test vectors (run once; the outputs are checked in).

Writes jwks.json (public keys: RSA 2048 kid rsa1, EC P-256 kid ec256, EC P-384 kid ec384,
Ed25519 kid ed1), hs_secret.txt and tokens.txt: `name token` lines. Every token has
iat 1700000000, exp 4102444800 (2100) unless the name says otherwise; the unit tests run with
the clock at 1800000000. Needs python3-jwt and python3-cryptography (/usr/bin/python3).
"""
import base64, json, jwt
from cryptography.hazmat.primitives.asymmetric import rsa, ec, ed25519
from cryptography.hazmat.primitives import serialization

def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def ib(n, size=None):
    size = size or (n.bit_length() + 7) // 8
    return n.to_bytes(size, "big")

rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
rsa_other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
p256 = ec.generate_private_key(ec.SECP256R1())
p384 = ec.generate_private_key(ec.SECP384R1())
ed = ed25519.Ed25519PrivateKey.generate()
secret = b"0123456789abcdef0123456789abcdef-shared"

def rsa_jwk(k, kid):
    n = k.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "use": "sig", "n": b64(ib(n.n)), "e": b64(ib(n.e))}

def ec_jwk(k, kid, crv, size):
    n = k.public_key().public_numbers()
    return {"kty": "EC", "kid": kid, "crv": crv, "x": b64(ib(n.x, size)), "y": b64(ib(n.y, size))}

ed_raw = ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
jwks = {"keys": [rsa_jwk(rsa_key, "rsa1"), ec_jwk(p256, "ec256", "P-256", 32),
                 ec_jwk(p384, "ec384", "P-384", 48),
                 {"kty": "OKP", "crv": "Ed25519", "kid": "ed1", "x": b64(ed_raw)},
                 {"kty": "oct", "kid": "skipped", "k": b64(b"not used")}]}

base = {"iss": "https://idp.example/", "aud": "api", "sub": "alice", "tenant": "t1",
        "iat": 1700000000, "exp": 4102444800}

def tok(key, alg, kid, **over):
    claims = dict(base)
    for k, v in over.items():
        if v is None:
            claims.pop(k, None)
        else:
            claims[k] = v
    headers = {"kid": kid} if kid else {}
    return jwt.encode(claims, key, algorithm=alg, headers=headers)

rsa_pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
tokens = {
    "rs256": tok(rsa_key, "RS256", "rsa1"),
    "rs384": tok(rsa_key, "RS384", "rsa1"),
    "rs512": tok(rsa_key, "RS512", "rsa1"),
    "ps256": tok(rsa_key, "PS256", "rsa1"),
    "es256": tok(p256, "ES256", "ec256"),
    "es384": tok(p384, "ES384", "ec384"),
    "eddsa": tok(ed, "EdDSA", "ed1"),
    "hs256": tok(secret, "HS256", None),
    "hs384": tok(secret, "HS384", None),
    "hs512": tok(secret, "HS512", None),
    "rs256_nokid": tok(rsa_key, "RS256", None),
    "aud_array": tok(rsa_key, "RS256", "rsa1", aud=["other", "api"]),
    "expired": tok(rsa_key, "RS256", "rsa1", exp=1799999000),
    "not_yet": tok(rsa_key, "RS256", "rsa1", nbf=1800001000),
    "wrong_iss": tok(rsa_key, "RS256", "rsa1", iss="https://evil.example/"),
    "wrong_aud": tok(rsa_key, "RS256", "rsa1", aud="other"),
    "unknown_kid": tok(rsa_key, "RS256", "rsa9"),
    "other_key": tok(rsa_other, "RS256", "rsa1"),
    # alg none: header {"alg":"none"} and an empty signature.
    "alg_none": b64(b'{"alg":"none","typ":"JWT"}') + "." + b64(json.dumps(base).encode()) + ".",
}
# Algorithm confusion: HS256 keyed with the RSA public key's PEM bytes (what a naive verifier
# that takes "the key" for any alg would accept). PyJWT refuses to do it, so sign by hand.
import hmac, hashlib
h = b64(b'{"alg":"HS256","typ":"JWT","kid":"rsa1"}')
p = b64(json.dumps(base).encode())
sig = hmac.new(rsa_pem, (h + "." + p).encode(), hashlib.sha256).digest()
tokens["hs256_rsa_pem"] = h + "." + p + "." + b64(sig)
# Tampered: the payload of rs256 changed (sub bob), signature kept; and a signature bit flipped.
hh, pp, ss = tokens["rs256"].split(".")
tokens["tampered_payload"] = hh + "." + b64(json.dumps(dict(base, sub="bob")).encode()) + "." + ss
sb = bytearray(base64.urlsafe_b64decode(ss + "=="))
sb[10] ^= 1
tokens["tampered_signature"] = hh + "." + pp + "." + b64(bytes(sb))
es_h, es_p, es_s = tokens["es256"].split(".")
esb = bytearray(base64.urlsafe_b64decode(es_s + "=="))
esb[40] ^= 1
tokens["tampered_es256"] = es_h + "." + es_p + "." + b64(bytes(esb))
tokens["bad_base64"] = hh + "." + pp.replace(pp[5], "*", 1) + "." + ss
tokens["bad_json"] = hh + "." + b64(b'{"sub": "alice",') + "." + ss
tokens["two_segments"] = hh + "." + pp
tokens["oversized"] = tok(rsa_key, "RS256", "rsa1", pad="x" * 9000)

with open("jwks.json", "w") as f:
    json.dump(jwks, f, indent=1)
with open("hs_secret.txt", "wb") as f:
    f.write(secret + b"\n")
with open("tokens.txt", "w") as f:
    for k, v in tokens.items():
        f.write(k + " " + v + "\n")
