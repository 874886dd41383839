/* Compile check for generated headers: includes them and uses their macros and typedefs,
 * so that -Wall -Wextra -Werror sees every definition. Built by firmware/check.mk with
 * -DEDGEKIT_NAME=<name> -DEDGEKIT_NAME_UPPER=<NAME>. */
#include <stddef.h>
#include <stdint.h>

#define EDGEKIT_STR_(x) #x
#define EDGEKIT_STR(x) EDGEKIT_STR_(x)
#define EDGEKIT_CAT_(a, b) a##b
#define EDGEKIT_CAT(a, b) EDGEKIT_CAT_(a, b)
#define EDGEKIT_HEADER(suffix) EDGEKIT_STR(EDGEKIT_CAT(EDGEKIT_NAME, suffix))

#include EDGEKIT_HEADER(_model_data.h)
#include EDGEKIT_HEADER(_model_settings.h)

#define N(suffix) EDGEKIT_CAT(EDGEKIT_NAME_UPPER, suffix)
#define L(suffix) EDGEKIT_CAT(EDGEKIT_NAME, suffix)

static const int input_shape[N(_INPUT0_DIMS)] = N(_INPUT0_SHAPE);
static const int output_shape[N(_OUTPUT0_DIMS)] = N(_OUTPUT0_SHAPE);
static L(_input0_t) input_buffer[N(_INPUT0_ELEMENTS)];

size_t edgekit_check(void);
size_t edgekit_check(void) {
  size_t total = (size_t)N(_ARENA_SIZE) + (size_t)N(_ARENA_SIZE_32BIT) + sizeof(input_buffer);
  total += (size_t)input_shape[0] + (size_t)output_shape[0] + L(_model_data_len) + L(_model_data)[4];
  total += (size_t)N(_INPUT_COUNT) + (size_t)N(_OUTPUT_COUNT) + (size_t)N(_INPUT0_BYTES) + (size_t)N(_OUTPUT0_BYTES);
  return total;
}
