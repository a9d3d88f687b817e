#ifndef PRESIGND_LIBFUZZER_H
#define PRESIGND_LIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver, from the toolchain's fuzzer runtime; linked only into fuzzing builds
// (-sanitize=fuzzer), where presignd-fuzz's main hands it the command line and its callback.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
