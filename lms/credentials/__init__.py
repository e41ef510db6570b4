"""Every certificate is also an Open Badges 3.0 ``OpenBadgeCredential`` (W3C Verifiable Credentials
Data Model 2.0), signed with a Data Integrity proof, cryptosuite ``eddsa-rdfc-2022`` (Ed25519
over RDFC-1.0 canonical N-Quads).

Why a Data Integrity proof and not VC-JWT (the other proof format Open Badges 3.0 allows):

- the credential stays a plain JSON document: a holder can read it, a wallet can show it, and the
  same text is embedded in the certificate's PDF/A-3 beside the printed page; a JWT would be an
  opaque base64 string whose content needs decoding before anyone can read it;
- it is the format of the Open Badges 3.0 specification's own examples and of 1EdTech's
  conformance test vectors, and the W3C publishes test vectors for this exact suite; our signer
  reproduces the W3C vector's proofValue byte for byte (tests/test_credentials.py);
- the signature covers the meaning (the RDF graph), not the bytes, so re-indenting or reordering
  the JSON does not break it, while any change to what it says does;
- Ed25519 keys and signatures are small and deterministic, and ``cryptography`` ships them; the
  only other dependency is PyLD for the canonicalisation, run offline against the contexts
  vendored in ``contexts/`` (loader.py refuses every other URL).

The parts: :mod:`.keys` (the issuer's key, Multikey encoding), :mod:`.loader` (offline contexts,
strict canonicalisation), :mod:`.proof` (the cryptosuite), :mod:`.issuer` (the public profile),
:mod:`.status` (Bitstring Status List revocation), :mod:`.issuing` (``ensure_credential``),
:mod:`.verify` (``verify_credential``), :mod:`.views` (the pages).
"""
