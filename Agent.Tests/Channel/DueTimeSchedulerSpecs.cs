using Agent.Actors.Channel;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Xunit.Abstractions;

namespace Agent.Tests.Channel;

/// <summary>The agent's scheduler (reference.conf's akka.scheduler.implementation): due order, cancellation, repeats, and actor timers on it.</summary>
public sealed class DueTimeSchedulerSpecs(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(
    "akka.scheduler.implementation = \"Agent.Actors.Channel.DueTimeScheduler, Agent.Actors\"", output: output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static DueTimeScheduler NewScheduler() => new(ConfigurationFactory.Empty, NoLogger.Instance);

    private static IAdvancedScheduler Advanced(DueTimeScheduler scheduler) => ((IScheduler)scheduler).Advanced;

    [Fact]
    public async Task Tasks_run_in_the_order_they_fall_due_not_the_order_they_were_scheduled()
    {
        using var scheduler = NewScheduler();
        var ran = new List<int>();
        var last = new TaskCompletionSource();
        Advanced(scheduler).ScheduleOnce(TimeSpan.FromMilliseconds(300), () => { lock (ran) ran.Add(300); last.SetResult(); });
        Advanced(scheduler).ScheduleOnce(TimeSpan.FromMilliseconds(20), () => { lock (ran) ran.Add(20); });
        Advanced(scheduler).ScheduleOnce(TimeSpan.FromMilliseconds(150), () => { lock (ran) ran.Add(150); });
        Advanced(scheduler).ScheduleOnce(TimeSpan.Zero, () => { lock (ran) ran.Add(0); });

        await last.Task.WaitAsync(Patience);
        lock (ran) Assert.Equal([0, 20, 150, 300], ran);
    }

    [Fact]
    public async Task A_cancelled_task_never_runs_and_a_repeated_one_repeats_until_cancelled()
    {
        using var scheduler = NewScheduler();
        var cancelled = new Cancelable((IScheduler)scheduler);
        var cancelledRan = false;
        Advanced(scheduler).ScheduleOnce(TimeSpan.FromMilliseconds(50), () => cancelledRan = true, cancelled);
        cancelled.Cancel();

        var repeats = 0;
        var thrice = new TaskCompletionSource();
        var repeating = new Cancelable((IScheduler)scheduler);
        Advanced(scheduler).ScheduleRepeatedly(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(60), () =>
        {
            if (Interlocked.Increment(ref repeats) == 3)
            {
                repeating.Cancel();
                thrice.SetResult();
            }
        }, repeating);

        await thrice.Task.WaitAsync(Patience);
        // The third run came after the cancelled task's time: had it not been cancelled, it would have run.
        Assert.False(cancelledRan);
        await Task.Delay(200);
        Assert.Equal(3, Volatile.Read(ref repeats));
    }

    [Fact]
    public void Cancelled_timers_do_not_pile_up_until_they_fall_due()
    {
        using var scheduler = NewScheduler();
        for (var i = 0; i < 100_000; i++)
        {
            var timeout = new Cancelable((IScheduler)scheduler);
            Advanced(scheduler).ScheduleOnce(TimeSpan.FromHours(1), () => { }, timeout);
            timeout.Cancel();
        }
        var kept = new Cancelable((IScheduler)scheduler);
        Advanced(scheduler).ScheduleOnce(TimeSpan.FromHours(1), () => { }, kept);
        Assert.InRange(scheduler.Pending, 1, 2048);
    }

    [Fact]
    public void Nothing_is_scheduled_once_the_scheduler_is_disposed()
    {
        var scheduler = NewScheduler();
        scheduler.Dispose();
        Assert.Throws<SchedulerException>(() => Advanced(scheduler).ScheduleOnce(TimeSpan.FromSeconds(1), () => { }));
    }

    private sealed class Alarm(IActorRef probe) : UntypedActor, IWithTimers
    {
        public ITimerScheduler Timers { get; set; } = null!;

        protected override void OnReceive(object message)
        {
            switch (message)
            {
                case "arm":
                    Timers.StartSingleTimer("alarm", "rang", TimeSpan.FromMilliseconds(100));
                    Timers.StartSingleTimer("never", "cancelled", TimeSpan.FromMilliseconds(50));
                    Timers.Cancel("never");
                    Sender.Tell("armed");
                    break;
                case "rang" or "cancelled":
                    probe.Tell(message);
                    break;
            }
        }
    }

    [Fact]
    public void An_actor_timer_fires_through_it_and_a_cancelled_one_does_not()
    {
        Assert.IsType<DueTimeScheduler>(Sys.Scheduler);
        var alarm = Sys.ActorOf(Props.Create(() => new Alarm(TestActor)));
        alarm.Tell("arm");
        ExpectMsg("armed");
        ExpectMsg("rang", Patience);
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }
}
