/* fuzz-csv.c: the CSV reader under hostile bytes.
 *
 * The input is parsed with the default options (everything detected), with a
 * header forced on and the first column as label, and with the label named
 * and ';' as delimiter; what parses is normalised and batched. Built with
 * -DDN_LIBFUZZER it is a libFuzzer target; otherwise main() replays the files
 * and folders given as arguments (the corpus in tests/fuzz/corpus/csv/).
 */
#include "dn-data.h"

#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void exercise (DnDataset *d)
{
    if (d == NULL)
        return;
    g_assert (d->n > 0 && d->f32 != NULL && d->n_classes > 0);
    for (int i = 0; i < d->n; i++)
        g_assert (d->labels[i] >= 0 && d->labels[i] < d->n_classes);
    DnNormalize norm;
    dn_dataset_compute_normalize (d, &norm);
    int idx[2] = {0, d->n - 1};
    gsize numel = (gsize) dn_shape_numel (&d->shape);
    float *x = g_new (float, 2 * numel);
    int32_t y[2];
    dn_dataset_get_batch (d, idx, 2, &norm, x, y);
    g_free (x);
    dn_dataset_free (d);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    GError *error = NULL;
    DnCsvOptions opts;

    dn_csv_options_init (&opts);
    exercise (dn_dataset_parse_csv ((const char *) data, size, "fuzz.csv", &opts, &error));
    g_clear_error (&error);

    opts.header = 1;
    opts.label_index = 0;
    exercise (dn_dataset_parse_csv ((const char *) data, size, "fuzz.csv", &opts, &error));
    g_clear_error (&error);

    dn_csv_options_init (&opts);
    opts.label_name = "label";
    opts.delimiter = ';';
    exercise (dn_dataset_parse_csv ((const char *) data, size, "fuzz.csv", &opts, &error));
    g_clear_error (&error);
    return 0;
}
