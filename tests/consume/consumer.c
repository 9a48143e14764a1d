/* The program every consume test builds: proves that <mmkit/...> is found and that the
 * implementation compiles and links in a consumer's own translation unit. */
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_core.h>

#include <stdio.h>

int main(void) {
    printf("%s\n", mmkit_status_str(MMKIT_OK));
    return 0;
}
