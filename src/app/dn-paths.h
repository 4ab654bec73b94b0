/* dn-paths.h: where the app finds its examples and puts its runs.
 *
 * Plain functions, no application object: a caller passes the preferences it
 * has (NULL where there are none, as in widget tests without an application).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The examples folder the templates come from: the installed one, else the
 * source tree's (the app run from its build tree). g_free. */
char *dn_paths_examples_dir (void);
/* The folder run folders go in: the "output-folder" preference of `settings`
 * when set, else "Dendrite Studio" in the Documents folder (the home folder
 * when there is none). g_free. */
char *dn_paths_output_folder (GSettings *settings);

G_END_DECLS
