// hiredis 0.14 (Debian libhiredis-dev). Only the standalone reply reader is used:
// presignd does its own socket I/O on SwiftNIO and feeds bytes to redisReader.
#include <hiredis/hiredis.h>
#include <hiredis/read.h>
