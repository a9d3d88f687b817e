// OpenSSL 3 libcrypto (Debian libssl-dev): the low-level SHA256_* calls for SHA-256 and
// HMAC-SHA256 (deprecated in 3.0 but present; SigV4's HMACKey says why), CRYPTO_memcmp for
// constant-time comparison.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>
