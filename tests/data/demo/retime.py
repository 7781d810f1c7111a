#!/usr/bin/env python3
"""Writes the demo's logs (hdfs.log, sshd.log, mapreduce.log) from the Loghub 2k samples in
../loghub2k, on one day, 2026-03-03, so that the demo's logs and reports share a timeline.
Every message is Loghub's, unchanged; only timestamps change. Run it from this folder."""

from datetime import datetime, timedelta

LOGHUB = "../loghub2k"
DAY = datetime(2026, 3, 3)


def lines(path):
    with open(path, encoding="utf-8") as file:
        return file.read().splitlines()


def hdfs():
    # `081109 203615 ...` over 2008-11-09..11: the same clock times, moved to 2026-03-01..03.
    shift = DAY - datetime(2008, 11, 11)
    out = []
    for line in lines(f"{LOGHUB}/HDFS/HDFS_2k.log"):
        date, time, rest = line.split(" ", 2)
        when = datetime.strptime(date + time, "%y%m%d%H%M%S") + shift
        out.append(f"{when:%y%m%d %H%M%S} {rest}")
    return out


def sshd():
    # `Dec 10 06:55:46 LabSZ sshd[24200]: ...` (syslog, no year): the day written out in full.
    out = []
    for line in lines(f"{LOGHUB}/OpenSSH/OpenSSH_2k.log"):
        month, day, time, rest = line.split(None, 3)
        assert (month, day) == ("Dec", "10"), line
        out.append(f"{DAY:%Y-%m-%d} {time} {rest}")
    return out


def mapreduce():
    # One MapReduce application master losing its ResourceManager (Loghub's Hadoop sample spans
    # ten minutes). Its normal part is stretched over 08:00-09:58 so the detectors have a
    # baseline; the outage keeps its own pace from 10:00. Three of the outage's first failed
    # calls to the ResourceManager (address change, retry, error) are moved into the morning
    # as the flaky link that came before it.
    parse = lambda line: datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    source = lines(f"{LOGHUB}/Hadoop/Hadoop_2k.log")
    cut = next(i for i, line in enumerate(source) if "Address change detected" in line)
    normal, outage = source[:cut], source[cut:]
    flaky = []
    for wanted in ["Address change detected. Old: msra-sa-41/10.190.173.170:8030", "Retrying connect to server", "ERROR IN CONTACTING RM"]:
        taken = [i for i, line in enumerate(outage) if wanted in line][:3]
        flaky.append([outage[i] for i in taken])
        outage = [line for i, line in enumerate(outage) if i not in taken]
    start, end = parse(normal[0]), parse(normal[-1])
    stretch = (timedelta(hours=1, minutes=58)) / (end - start)
    timed = [(DAY + timedelta(hours=8) + (parse(line) - start) * stretch, line[24:]) for line in normal]
    for n, at in enumerate([timedelta(hours=8, minutes=31), timedelta(hours=9, minutes=4), timedelta(hours=9, minutes=27)]):
        for k, group in enumerate(flaky):
            timed.append((DAY + at + timedelta(milliseconds=k), group[n][24:]))
    outage_start = parse(outage[0])
    timed += [(DAY + timedelta(hours=10) + (parse(line) - outage_start), line[24:]) for line in outage]
    timed.sort(key=lambda pair: pair[0])
    return [f"{when:%Y-%m-%d %H:%M:%S},{when.microsecond // 1000:03d} {rest}" for when, rest in timed]


for name, make in [("hdfs.log", hdfs), ("sshd.log", sshd), ("mapreduce.log", mapreduce)]:
    with open(name, "w", encoding="utf-8") as file:
        file.write("\n".join(make()) + "\n")
