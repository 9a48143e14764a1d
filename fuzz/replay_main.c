/* replay_main.c - run an LLVMFuzzerTestOneInput harness over files, without libFuzzer.
 *
 *   fuzz_<name>_replay FILE_OR_DIR...
 *
 * Every regular file given, and every regular file directly inside a directory given
 * (non-recursive, in name order so runs are reproducible), is read and passed to
 * LLVMFuzzerTestOneInput once. A harness reports a failure by aborting, so reaching the end
 * means every input passed. Prints "replayed N inputs" and exits 0; exits 1 when an argument
 * cannot be read or no input was found at all (an empty or missing corpus is an error).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0, n;
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    for (;;) {
        if (len == cap) {
            unsigned char *nb;
            cap = cap ? 2 * cap : 4096;
            nb = (unsigned char *)realloc(buf, cap);
            if (!nb) {
                fprintf(stderr, "replay: out of memory reading %s\n", path);
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) break;
    }
    if (ferror(f)) {
        fprintf(stderr, "replay: error reading %s\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    if (getenv("REPLAY_VERBOSE")) fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    /* an exact-size heap copy, so that ASan sees reads past the end of the input */
    {
        unsigned char *exact = (unsigned char *)malloc(len ? len : 1);
        if (!exact) {
            free(buf);
            return -1;
        }
        if (len) memcpy(exact, buf, len);
        free(buf);
        (void)LLVMFuzzerTestOneInput(exact, len);
        free(exact);
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Run every regular file directly inside dir; returns the count or -1. */
static long run_dir(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    long count = 0;
    if (!d) {
        fprintf(stderr, "replay: cannot open directory %s\n", dir);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        size_t plen;
        char *path;
        struct stat st;
        if (e->d_name[0] == '.') continue;
        plen = strlen(dir) + 1 + strlen(e->d_name) + 1;
        path = (char *)malloc(plen);
        if (!path) break;
        snprintf(path, plen, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (n == cap) {
            char **nn;
            cap = cap ? 2 * cap : 64;
            nn = (char **)realloc(names, cap * sizeof *names);
            if (!nn) {
                free(path);
                break;
            }
            names = nn;
        }
        names[n++] = path;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    for (i = 0; i < n; i++) {
        if (count >= 0) {
            if (run_file(names[i]) != 0) count = -1;
            else count++;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

int main(int argc, char **argv) {
    long total = 0;
    int i;
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: cannot stat %s\n", argv[i]);
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            long n = run_dir(argv[i]);
            if (n < 0) return 1;
            total += n;
        } else {
            if (run_file(argv[i]) != 0) return 1;
            total++;
        }
    }
    printf("replayed %ld inputs\n", total);
    if (total == 0) {
        fprintf(stderr, "replay: no inputs found\n");
        return 1;
    }
    return 0;
}
