/*
 * file_io: small files kept durably in a directory, for the stores that
 * live on disk (a sequence's file, id_step.json, the snowflake
 * reservation). A write is atomic and durable: write .<file>.tmp, fsync
 * it, rename it over the file, fsync the directory.
 */
#ifndef SEQD_FILE_IO_H
#define SEQD_FILE_IO_H

#include <stddef.h>

#define FILE_IO_MODE 0640
#define FILE_IO_SIZE_MAX (64 * 1024)  /* every file seqd keeps is well under 4 KB */
#define FILE_IO_NAME_MAX 256          /* ".<file>.tmp" fits in NAME_MAX */
#define FILE_IO_TMP_EXT ".tmp"

/* What a durable write achieved. */
enum file_put {
    FILE_PUT_OK,                      /* on disk, durably */
    FILE_PUT_FAILED,                  /* the file is as it was */
    FILE_PUT_UNSURE,                  /* renamed, but the directory was not fsynced */
};

/* Makes dir_fd/<file> hold text durably. dirpath names dir_fd in
 * messages; err says what failed. */
enum file_put file_write_at(int dir_fd, const char *dirpath, const char *file, const char *text,
                            char *err, size_t errlen);

/* Reads dir_fd/<file> (a regular file of at most FILE_IO_SIZE_MAX bytes)
 * into *text (NUL-terminated, to free), *len bytes. Returns 0; 1 when
 * there is no such file; -1 with the reason in why. */
int file_read_at(int dir_fd, const char *file, char **text, size_t *len, char *why, size_t whylen);

#endif
