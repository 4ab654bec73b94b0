/* fuzz-idx.c: the IDX reader under hostile bytes.
 *
 * The input is parsed as an image file (next to a well-formed label file whose
 * count matches the input's header, so a valid input goes all the way through),
 * as a label file (next to a matching image file), and as both at once. What
 * parses is then split, normalised and batched. Built with -DDN_LIBFUZZER it is
 * a libFuzzer target; otherwise main() replays the files and folders given as
 * arguments (the corpus in tests/fuzz/corpus/idx/).
 */
#include "dn-data.h"

#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void put_be32 (GByteArray *b, uint32_t v)
{
    guint8 x[4] = {(guint8) (v >> 24), (guint8) (v >> 16), (guint8) (v >> 8), (guint8) v};
    g_byte_array_append (b, x, 4);
}

/* Uses what parsed the way the training loop would. */
static void exercise (DnDataset *d)
{
    if (d == NULL)
        return;
    DnNormalize norm;
    dn_dataset_compute_normalize (d, &norm);
    int n = MIN (d->n, 4);
    int idx[4];
    for (int i = 0; i < n; i++)
        idx[i] = d->n - 1 - i;
    gsize numel = (gsize) dn_shape_numel (&d->shape);
    float *x = g_new (float, MAX (numel * n, 1));
    int32_t y[4];
    dn_dataset_get_batch (d, idx, n, &norm, x, y);
    g_free (x);
    DnRng rng;
    dn_rng_seed (&rng, 7);
    DnDataset *train = NULL, *val = NULL;
    dn_dataset_split (d, 0.25, &rng, &train, &val, NULL);
    dn_dataset_free (train);
    dn_dataset_free (val);
    dn_dataset_free (d);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    /* A partner of the count the input claims (raw inputs), small enough to build. */
    uint32_t count = 1;
    if (size >= 8 && !(data[0] == 0x1f && data[1] == 0x8b)) {
        uint32_t c = ((uint32_t) data[4] << 24) | ((uint32_t) data[5] << 16) |
                     ((uint32_t) data[6] << 8) | data[7];
        if (c <= 65536)
            count = c;
    }
    GByteArray *labels = g_byte_array_new ();
    put_be32 (labels, 0x801);
    put_be32 (labels, count);
    GByteArray *images = g_byte_array_new ();
    put_be32 (images, 0x803);
    put_be32 (images, count);
    put_be32 (images, 1);
    put_be32 (images, 1);
    for (uint32_t i = 0; i < count; i++) {
        guint8 v = (guint8) (i % 10);
        g_byte_array_append (labels, &v, 1);
        g_byte_array_append (images, &v, 1);
    }

    GError *error = NULL;
    exercise (dn_dataset_parse_idx (data, size, "fuzz-images", labels->data, labels->len,
                                    "fuzz-partner-labels", &error));
    g_clear_error (&error);
    exercise (dn_dataset_parse_idx (images->data, images->len, "fuzz-partner-images", data, size,
                                    "fuzz-labels", &error));
    g_clear_error (&error);
    exercise (dn_dataset_parse_idx (data, size, "fuzz-images", data, size, "fuzz-labels", &error));
    g_clear_error (&error);

    g_byte_array_unref (labels);
    g_byte_array_unref (images);
    return 0;
}
