/* dn-paths.c: the examples folder and the output folder. */
#include "dn-paths.h"

#include "dn-config.h"

char *dn_paths_examples_dir (void)
{
    g_autofree char *installed = g_build_filename (DN_DATADIR, "examples", NULL);
    if (g_file_test (installed, G_FILE_TEST_IS_DIR))
        return g_steal_pointer (&installed);
    return g_build_filename (DN_SOURCE_DATADIR, "examples", NULL);
}

char *dn_paths_output_folder (GSettings *settings)
{
    g_autofree char *pref =
        settings != NULL ? g_settings_get_string (settings, "output-folder") : NULL;
    if (pref != NULL && *pref != '\0')
        return g_steal_pointer (&pref);
    const char *docs = g_get_user_special_dir (G_USER_DIRECTORY_DOCUMENTS);
    if (docs == NULL || !g_file_test (docs, G_FILE_TEST_IS_DIR))
        docs = g_get_home_dir ();
    return g_build_filename (docs, "Dendrite Studio", NULL);
}
