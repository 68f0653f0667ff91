// mandelbrot: renders the Mandelbrot set as a greyscale PGM image — a small CPU-bound job.
// Usage: mandelbrot [width] [height] [max_iterations]   (defaults 640 480 500)
// Writes /out/mandelbrot.pgm and prints progress lines ("row 48/480") on stdout.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  int width = argc > 1 ? atoi(argv[1]) : 640;
  int height = argc > 2 ? atoi(argv[2]) : 480;
  int max_iter = argc > 3 ? atoi(argv[3]) : 500;
  if (width < 1 || height < 1 || max_iter < 1 || width > 16384 || height > 16384) {
    fprintf(stderr, "usage: mandelbrot [width 1..16384] [height 1..16384] [max_iterations >= 1]\n");
    return 2;
  }
  FILE *out = fopen("/out/mandelbrot.pgm", "wb");
  if (!out) { perror("/out/mandelbrot.pgm"); return 1; }
  fprintf(out, "P5\n%d %d\n255\n", width, height);
  unsigned char *row = malloc((size_t)width);
  if (!row) { fprintf(stderr, "out of memory\n"); return 1; }
  int step = height / 10 > 0 ? height / 10 : 1;
  for (int y = 0; y < height; y++) {
    double ci = -1.2 + 2.4 * y / height;
    for (int x = 0; x < width; x++) {
      double cr = -2.2 + 3.2 * x / width, zr = 0, zi = 0;
      int i = 0;
      while (i < max_iter && zr * zr + zi * zi < 4.0) {
        double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
        i++;
      }
      row[x] = i == max_iter ? 0 : (unsigned char)(255 - (i * 255) / max_iter);
    }
    fwrite(row, 1, (size_t)width, out);
    if ((y + 1) % step == 0 || y + 1 == height) { printf("row %d/%d\n", y + 1, height); fflush(stdout); }
  }
  free(row);
  fclose(out);
  printf("wrote /out/mandelbrot.pgm (%dx%d, %d iterations)\n", width, height, max_iter);
  return 0;
}
