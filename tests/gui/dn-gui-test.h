/* dn-gui-test.h: what the window tests share beyond dn-test-util.h. */
#pragma once

#include "dn-document.h"

#include <adwaita.h>

G_BEGIN_DECLS

/* The message dialog shown over parent, NULL when there is none. */
AdwMessageDialog *dn_gui_test_find_dialog (GtkWindow *parent);

/* A new document from data/examples/<name>.json, with no file (as a template). */
DnDocument *dn_gui_test_load_template (const char *name);

G_END_DECLS
