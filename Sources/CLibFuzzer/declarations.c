// Declarations only (include/libfuzzer.h); SwiftPM needs one source file for a C target.
#include "libfuzzer.h"
