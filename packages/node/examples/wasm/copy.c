// copy: copies every input file to the outputs, unchanged, streaming in 64 KiB blocks
// (it never holds a whole file in memory). Reads /in recursively, writes the same paths under /out.
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static char block[64 * 1024];
static unsigned long long copied;

static int copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb");
  if (!in) { perror(from); return 1; }
  FILE *out = fopen(to, "wb");
  if (!out) { perror(to); fclose(in); return 1; }
  size_t n;
  while ((n = fread(block, 1, sizeof block, in)) > 0) {
    if (fwrite(block, 1, n, out) != n) { perror(to); fclose(in); fclose(out); return 1; }
    copied += n;
  }
  fclose(in);
  return fclose(out) == 0 ? 0 : 1;
}

static int walk(const char *from_dir, const char *to_dir) {
  DIR *d = opendir(from_dir);
  if (!d) { perror(from_dir); return 1; }
  int failed = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char from[4096], to[4096];
    snprintf(from, sizeof from, "%s/%s", from_dir, e->d_name);
    snprintf(to, sizeof to, "%s/%s", to_dir, e->d_name);
    struct stat st;
    if (stat(from, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) { mkdir(to, 0755); failed |= walk(from, to); }
    else if (S_ISREG(st.st_mode)) failed |= copy_file(from, to);
  }
  closedir(d);
  return failed;
}

int main(void) {
  int failed = walk("/in", "/out");
  printf("copied %llu bytes\n", copied);
  return failed;
}
