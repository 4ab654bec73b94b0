/* dendrite-studio: the desktop application. Everything but main() lives in
 * libdendrite-studio (src/app), which the tests and the benchmark link too. */
#include "dn-application.h"
#include "dn-blas.h"
#include "dn-config.h"

#include <glib/gi18n.h>
#include <locale.h>

int main (int argc, char **argv)
{
    g_autoptr (GError) blas_error = NULL;
    if (!dn_blas_maybe_reexec (argv, &blas_error)) {
        g_printerr ("dendrite-studio: %s\n", blas_error->message);
        return 1;
    }
    setlocale (LC_ALL, "");
    /* installed: the system's locale folder; run from the build tree: its po/ */
    gboolean installed =
        g_file_test (DN_LOCALEDIR "/de/LC_MESSAGES/" GETTEXT_PACKAGE ".mo", G_FILE_TEST_EXISTS);
    bindtextdomain (GETTEXT_PACKAGE, installed ? DN_LOCALEDIR : DN_BUILD_LOCALEDIR);
    bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
    textdomain (GETTEXT_PACKAGE);
    g_set_application_name (_ ("Dendrite Studio"));
    g_autoptr (DnApplication) app = dn_application_new ();
    return g_application_run (G_APPLICATION (app), argc, argv);
}
