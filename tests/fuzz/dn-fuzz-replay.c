/* dn-fuzz-replay.c: main() for the fuzz targets when they are not built with
 * libFuzzer. Replays every file given, and every file of every folder given
 * (in name order), through LLVMFuzzerTestOneInput, so CI feeds each parser its
 * corpus of hostile inputs. An empty corpus is a build mistake, not a pass. */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int replay_file (const char *path)
{
    g_autofree char *contents = NULL;
    gsize len = 0;
    g_autoptr (GError) error = NULL;
    if (!g_file_get_contents (path, &contents, &len, &error)) {
        fprintf (stderr, "%s\n", error->message);
        return -1;
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

static int replay_dir (const char *dir)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
    if (d == NULL) {
        fprintf (stderr, "%s\n", error->message);
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
        if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
            continue;
        if (replay_file (path) < 0)
            return -1;
        n++;
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
                                                          : replay_file (argv[i]);
        if (n < 0)
            return 1;
        total += n;
    }
    if (total == 0) {
        fprintf (stderr, "%s: no input files found\n", argv[0]);
        return 1;
    }
    printf ("replayed %d inputs\n", total);
    return 0;
}
