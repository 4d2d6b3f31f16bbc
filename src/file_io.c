/*
 * file_io: small files kept durably (see file_io.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_io.h"
#include "util.h"

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

enum file_put file_write_at(int dir_fd, const char *dirpath, const char *file, const char *text,
                            char *err, size_t errlen)
{
    char tmp[FILE_IO_NAME_MAX + 8];
    const char *step;
    int fd, e;

    snprintf(tmp, sizeof(tmp), ".%s" FILE_IO_TMP_EXT, file);
    fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, FILE_IO_MODE);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s/%s: %s", dirpath, tmp, strerror(errno));
        return FILE_PUT_FAILED;
    }
    step = "write";
    if (write_all(fd, text, strlen(text)) != 0)
        goto fail;
    step = "fsync";
    if (fsync(fd) != 0)
        goto fail;
    step = "close";
    e = close(fd);
    fd = -1;
    if (e != 0)
        goto fail;
    step = "rename";
    if (renameat(dir_fd, tmp, dir_fd, file) != 0)
        goto fail;
    if (fsync(dir_fd) != 0) {
        snprintf(err, errlen, "cannot fsync %s after writing %s: %s", dirpath, file, strerror(errno));
        return FILE_PUT_UNSURE;
    }
    return FILE_PUT_OK;

fail:
    e = errno;
    if (fd >= 0)
        close(fd);
    unlinkat(dir_fd, tmp, 0);
    snprintf(err, errlen, "cannot %s %s/%s: %s", step, dirpath, tmp, strerror(e));
    return FILE_PUT_FAILED;
}

int file_read_at(int dir_fd, const char *file, char **text, size_t *len,
                        char *why, size_t whylen)
{
    struct stat sb;
    size_t got = 0;
    char *buf = NULL;
    int fd, rc = -1;

    fd = openat(dir_fd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(why, whylen, "cannot open: %s", strerror(errno));
        return errno == ENOENT ? 1 : -1;
    }
    if (fstat(fd, &sb) != 0) {
        snprintf(why, whylen, "cannot stat: %s", strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        snprintf(why, whylen, "not a regular file");
        goto out;
    }
    if (sb.st_size > FILE_IO_SIZE_MAX) {
        snprintf(why, whylen, "too large (%lld bytes) for a seqd file", (long long)sb.st_size);
        goto out;
    }
    buf = xmalloc((size_t)sb.st_size + 1);
    while (got < (size_t)sb.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(why, whylen, "cannot read: %s", strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    *text = buf;
    *len = got;
    buf = NULL;
    rc = 0;
out:
    close(fd);
    free(buf);
    return rc;
}
