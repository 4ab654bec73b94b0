/* fuzz-onnx.c: fuzz target for the ONNX reader and graph import.
 *
 * Built with -DDN_LIBFUZZER and -fsanitize=fuzzer it is a libFuzzer program.
 * Built plainly it replays every file in the folders (or the files) named on
 * the command line, so the corpus of hostile models in tests/fuzz/corpus/onnx/
 * (made by tools/make-onnx-fixtures.py) runs on every test run. Either way
 * import must return a network or an error, never both, never neither, and
 * never crash. No folder is given, so no external data is read.
 */
#include "dn-onnx.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    GError *error = NULL;
    DnNetwork *net =
        dn_onnx_import_bytes (data, size, NULL, "fuzz input", dn_backend_cpu (), NULL, &error);
    if ((net == NULL) == (error == NULL))
        abort ();
    if (net != NULL)
        dn_network_free (net);
    g_clear_error (&error);
    return 0;
}
