/* The monotonic clock the library times its work with (calibration seconds, trial seconds, round timeouts). Progress
 * is reported through callbacks (calib8_progress_fn): drawing a bar is a front end's job. */
#ifndef C8_CORE_CLOCK_H
#define C8_CORE_CLOCK_H

double c8_now(void); /* monotonic seconds */

#endif
