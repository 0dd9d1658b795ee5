/* Files written whole or not at all, alone or as a set.
 *
 * Every file goes to a temporary beside its target first: ".<name>.c8tmp-<pid>-XXXXXX", made by mkstemp
 * (O_EXCL: a link planted at the name is never followed), written, fsync'd, then renamed onto the target and
 * the folder fsync'd. A set (several outputs of one run) writes every temporary before renaming any, so a
 * failure while writing (a full disk, a file size limit, an unwritable folder) leaves every earlier output as it
 * was. While temporaries exist, SIGINT, SIGTERM, SIGHUP and SIGXFSZ remove them before the process ends (only
 * where the program left those signals at their default). A temporary left by a killed process (SIGKILL) is
 * removed by the next write of the same target once its process is gone. */
#ifndef C8_CORE_ATOMIC_FILE_H
#define C8_CORE_ATOMIC_FILE_H

#include <stddef.h>

#include "core/status.h"

/* Writes one file atomically; inside c8_file_set_begin/commit it joins the set instead (renamed at commit). */
c8_status c8_write_file_atomic(const char *path, const void *bytes, size_t len);

/* Starts a set on this thread: until commit or abort, c8_write_file_atomic only writes temporaries. Sets do
 * not nest (CALIB8_INTERNAL). */
c8_status c8_file_set_begin(void);
/* Renames every temporary of the set onto its target, in the order written. CALIB8_IO naming the file when a
 * rename fails (the files renamed before it stay). */
c8_status c8_file_set_commit(void);
/* Removes the set's temporaries; the targets are untouched. No-op without a set. */
void c8_file_set_abort(void);

#endif
