/*
 * store: picks a backend by its store.type name and names the status codes
 * every backend returns. The backends themselves live in store_memory.c,
 * store_file.c and store_mysql.c; the contract they keep is in store.h.
 */
#include "store.h"

#include <string.h>

#include "util.h"

static const struct store_ops *const store_backends[] = {
    &store_file_ops,
    &store_memory_ops,
    &store_mysql_ops,
};

const struct store_ops *store_find(const char *type)
{
    size_t i;

    if (type == NULL)
        return NULL;
    for (i = 0; i < ARRAY_SIZE(store_backends); i++)
        if (strcmp(store_backends[i]->name, type) == 0)
            return store_backends[i];
    return NULL;
}

/* For log lines: short, stable words, one per enum store_status. */
const char *store_status_name(int status)
{
    switch (status) {
    case STORE_OK:          return "ok";
    case STORE_NOT_FOUND:   return "not found";
    case STORE_EXISTS:      return "exists";
    case STORE_UNAVAILABLE: return "unavailable";
    case STORE_UNKNOWN:     return "unknown outcome";
    case STORE_ERROR:       return "error";
    case STORE_STALE:       return "stale (someone claimed after)";
    case STORE_REFUSED:     return "refused (below this node's high-water mark)";
    }
    return "invalid status";
}
