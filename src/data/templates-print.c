/* The preprocessing templates listed for people (calib8_preprocess_templates_print, `calib8 eval --print-templates`). */
#include <stdio.h>

#include "calib8/calib8.h"

void calib8_preprocess_templates_print(FILE *f) {
  for (int i = 0; f && i < calib8_preprocess_template_count(); i++)
    fprintf(f, "%s\n  %s\n  %s\n", calib8_preprocess_template_name(i), calib8_preprocess_template_text(i),
            calib8_preprocess_template_note(i));
}
