// OpenSSL 3 libcrypto (Debian libssl-dev): EVP_MAC for HMAC-SHA256, EVP_MD for SHA-256,
// CRYPTO_memcmp for constant-time comparison.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>
