/* fuzz-safetensors.c: fuzz target for the safetensors reader.
 *
 * Built with -DDN_LIBFUZZER and -fsanitize=fuzzer it is a libFuzzer
 * program. Built plainly it replays every file in the folders (or the
 * files) named on the command line, so the corpus of hostile inputs in
 * tests/fuzz/corpus/safetensors/ runs on every test run. Either way the
 * reader must return a result or an error, never both, never neither,
 * and never crash.
 */
#include "dn-safetensors.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    GError *error = NULL;
    DnSafetensors *st = dn_safetensors_parse (data, size, "fuzz input", &error);
    if ((st == NULL) == (error == NULL))
        abort ();
    dn_safetensors_free (st);
    g_clear_error (&error);
    return 0;
}
