// A quiet countdown for a timed quiz. The server enforces the time limit; this only shows it.
// The clock changes every second without being announced; screen readers hear it only at five
// minutes and one minute left (a polite live region). Without this file the page shows the
// time by which to submit.
(function () {
  "use strict";
  var timer = document.getElementById("quiz-timer");
  if (!timer) return;
  var deadlineElement = timer.querySelector("time[datetime]");
  var deadline = Date.parse(deadlineElement ? deadlineElement.getAttribute("datetime") : "");
  var serverNow = Date.parse(timer.getAttribute("data-server-now") || "");
  if (isNaN(deadline) || isNaN(serverNow)) return;
  // How far this device's clock is from the server's: the deadline is the server's.
  var skew = serverNow - Date.now();
  var left = timer.querySelector(".liaison-quiz-timer__left");
  var clock = timer.querySelector(".liaison-quiz-timer__clock");
  var over = timer.querySelector(".liaison-quiz-timer__over");
  var announcer = document.getElementById("quiz-timer-announcement");
  var previous = null;
  var handle = null;

  function pad(number) {
    return (number < 10 ? "0" : "") + number;
  }

  function format(seconds) {
    var hours = Math.floor(seconds / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var rest = seconds % 60;
    return hours ? hours + ":" + pad(minutes) + ":" + pad(rest) : minutes + ":" + pad(rest);
  }

  function announceWhenCrossing(seconds, threshold, attribute) {
    if (announcer && previous !== null && previous > threshold && seconds <= threshold) {
      announcer.textContent = timer.getAttribute(attribute) || "";
    }
  }

  function tick() {
    var seconds = Math.max(0, Math.ceil((deadline - (Date.now() + skew)) / 1000));
    clock.textContent = format(seconds);
    announceWhenCrossing(seconds, 300, "data-five-minutes");
    announceWhenCrossing(seconds, 60, "data-one-minute");
    timer.classList.toggle("is-urgent", seconds > 0 && seconds <= 60);
    if (seconds === 0) {
      timer.classList.add("is-over");
      if (over) over.hidden = false;
      if (handle !== null) window.clearInterval(handle);
    }
    previous = seconds;
  }

  if (left) left.hidden = false;
  tick();
  if (previous > 0) handle = window.setInterval(tick, 1000);
})();
