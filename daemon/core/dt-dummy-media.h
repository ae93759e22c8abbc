#pragma once

#include "dt-media.h"

G_BEGIN_DECLS

/* A media engine that moves no audio: sessions report a port and record
 * what they were asked to play. For tests of the core and D-Bus layers. */
#define DT_TYPE_DUMMY_MEDIA (dt_dummy_media_get_type ())
G_DECLARE_FINAL_TYPE (DtDummyMedia, dt_dummy_media, DT, DUMMY_MEDIA, GObject)

DtDummyMedia *dt_dummy_media_new (void);

G_END_DECLS
