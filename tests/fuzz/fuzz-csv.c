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

#ifndef DN_LIBFUZZER
static int cmp_path (gconstpointer a, gconstpointer b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

static int replay_file (const char *path)
{
    char *bytes = NULL;
    gsize len = 0;
    GError *error = NULL;
    if (!g_file_get_contents (path, &bytes, &len, &error)) {
        fprintf (stderr, "cannot read %s: %s\n", path, error->message);
        g_error_free (error);
        return -1;
    }
    LLVMFuzzerTestOneInput ((const uint8_t *) bytes, len);
    g_free (bytes);
    return 1;
}

/* Replays every file given, and every file in every folder given (sorted). */
int main (int argc, char **argv)
{
    int n_files = 0;
    for (int a = 1; a < argc; a++) {
        if (!g_file_test (argv[a], G_FILE_TEST_IS_DIR)) {
            if (replay_file (argv[a]) < 0)
                return 1;
            n_files++;
            continue;
        }
        GDir *dir = g_dir_open (argv[a], 0, NULL);
        GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
        const char *name;
        while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
            g_ptr_array_add (names, g_build_filename (argv[a], name, NULL));
        if (dir != NULL)
            g_dir_close (dir);
        g_ptr_array_sort (names, cmp_path);
        for (guint i = 0; i < names->len; i++) {
            const char *path = g_ptr_array_index (names, i);
            if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
                continue;
            if (replay_file (path) < 0) {
                g_ptr_array_free (names, TRUE);
                return 1;
            }
            n_files++;
        }
        g_ptr_array_free (names, TRUE);
    }
    if (n_files == 0) {
        fprintf (stderr, "usage: %s CORPUS-DIR-OR-FILE...: no input files found\n", argv[0]);
        return 1;
    }
    printf ("replayed %d inputs\n", n_files);
    return 0;
}
#endif
