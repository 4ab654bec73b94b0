/* dn-gui-test.h: what the window tests share beyond dn-test-util.h. */
#pragma once

#include "dn-application.h"
#include "dn-document.h"
#include "dn-window.h"

#include <adwaita.h>

G_BEGIN_DECLS

/* The message dialog shown over parent, NULL when there is none. */
AdwMessageDialog *dn_gui_test_find_dialog (GtkWindow *parent);

/* A new document from data/examples/<name>.json, with no file (as a template). */
DnDocument *dn_gui_test_load_template (const char *name);

/* A window of the one application a test process registers, presented at
 * width × height, its runs going to a fresh folder dir (removed on close). */
typedef struct {
    DnApplication *app;
    DnWindow *win;
    char *dir;
} DnGuiWindow;

void dn_gui_test_window_open (DnGuiWindow *f, int width, int height);
void dn_gui_test_window_close (DnGuiWindow *f);

/* Saves what w shows as DN_SCREENSHOT_DIR/name (a PNG); nothing when it is unset. */
void dn_gui_test_save_shot (GtkWidget *w, const char *name);

G_END_DECLS
