"""Operations: the one use-case layer every entry point calls — open, update, close
(`incidents`), the reconciler (`sync`), postmortems, drills, the monitor, the status page build,
the periodic job and the preflight."""
