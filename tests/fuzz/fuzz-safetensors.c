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

#ifndef DN_LIBFUZZER

static int replay_file (const char *path)
{
    g_autofree char *contents = NULL;
    gsize len = 0;
    g_autoptr (GError) error = NULL;
    if (!g_file_get_contents (path, &contents, &len, &error)) {
        fprintf (stderr, "fuzz-safetensors: %s\n", error->message);
        return 0;
    }
    /* A copy of exactly len bytes, so a sanitizer sees any read past the end. */
    g_autofree guint8 *copy = g_memdup2 (contents, len);
    LLVMFuzzerTestOneInput (copy, len);
    return 1;
}

static int name_cmp (gconstpointer a, gconstpointer b)
{
    return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* Replays the files of dir in name order; returns how many, or -1. */
static int replay_dir (const char *dir)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
    if (d == NULL) {
        fprintf (stderr, "fuzz-safetensors: %s\n", error->message);
        return -1;
    }
    g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
    const char *name;
    while ((name = g_dir_read_name (d)) != NULL)
        g_ptr_array_add (paths, g_build_filename (dir, name, NULL));
    g_ptr_array_sort (paths, name_cmp);
    int n = 0;
    for (guint i = 0; i < paths->len; i++) {
        const char *path = g_ptr_array_index (paths, i);
        if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
            n += replay_file (path);
    }
    return n;
}

int main (int argc, char **argv)
{
    if (argc < 2) {
        fprintf (stderr, "usage: %s CORPUS-DIR-OR-FILE...\n", argv[0]);
        return 2;
    }
    int total = 0;
    for (int i = 1; i < argc; i++) {
        int n = g_file_test (argv[i], G_FILE_TEST_IS_DIR) ? replay_dir (argv[i])
                : replay_file (argv[i])                   ? 1
                                                          : -1;
        if (n < 0)
            return 1;
        total += n;
    }
    /* An empty corpus is a mistake in the build, not a pass. */
    if (total == 0) {
        fprintf (stderr, "fuzz-safetensors: no input files found\n");
        return 1;
    }
    printf ("fuzz-safetensors: %d inputs replayed\n", total);
    return 0;
}

#endif
