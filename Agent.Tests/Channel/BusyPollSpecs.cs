using Agent.Actors.Channel;
using Agent.Actors.Platform;
using Agent.Actors.Settings;
using Akka.Configuration;

namespace Agent.Tests.Channel;

/// <summary>
/// The event loop's busy-poll window (agent.channel.event-loop.busy-poll): after handling something the loop
/// keeps polling for the window, still serving its descriptors and the work other threads post, then
/// sleeps in poll(2) and makes no further calls until something happens. It spins only while the agent
/// has nothing under way off the loop (<see cref="OffLoopWork"/>). An eventfd stands in for a socket.
/// </summary>
public sealed unsafe class BusyPollSpecs : IDisposable
{
    private readonly int _fd = Native.EventFd(0, Native.EFD_CLOEXEC | Native.EFD_NONBLOCK);
    private readonly SemaphoreSlim _handled = new(0);
    private EventLoop? _loop;
    // The ThreadPool's queue is left out: the test run's own pool work would decide when the loop spins.
    private readonly OffLoopWork _offLoopWork = new(countThreadPoolQueue: false);

    private EventLoop Loop(TimeSpan busyPoll)
    {
        var loop = _loop = new EventLoop("busy-poll-spec", busyPoll, _offLoopWork);
        loop.Invoke(() => loop.SetWatch(_fd, Native.POLLIN, _ =>
        {
            ulong value;
            Native.Read(_fd, (byte*)&value, 8);
            _handled.Release((int)value);
        }));
        return loop;
    }

    private void Signal()
    {
        ulong one = 1;
        Native.Write(_fd, (byte*)&one, 8);
    }

    private void AssertHandled() => Assert.True(_handled.Wait(TimeSpan.FromSeconds(10)), "the loop did not handle the descriptor");

    private static long PollsOver(EventLoop loop, TimeSpan span)
    {
        var before = loop.Polls;
        Thread.Sleep(span);
        return loop.Polls - before;
    }

    [Fact]
    public void Events_within_the_window_and_after_it_are_all_handled_and_posted_work_runs()
    {
        var loop = Loop(TimeSpan.FromMilliseconds(200));
        for (var i = 0; i < 500; i++)
        {
            Signal();
            AssertHandled();
        }
        // Work posted from another thread while the loop busy-polls (it is not asleep, so no eventfd wakes it).
        var ran = new ManualResetEventSlim();
        loop.Invoke(ran.Set);
        Assert.True(ran.Wait(TimeSpan.FromSeconds(10)));
        // And once it sleeps again.
        Thread.Sleep(600);
        ran.Reset();
        loop.Invoke(ran.Set);
        Assert.True(ran.Wait(TimeSpan.FromSeconds(10)));
        Signal();
        AssertHandled();
    }

    [Fact]
    public void The_loop_polls_without_sleeping_within_the_window_and_not_after_it()
    {
        var loop = Loop(TimeSpan.FromSeconds(2));
        Signal();
        AssertHandled();
        Assert.True(PollsOver(loop, TimeSpan.FromMilliseconds(300)) > 1, "no busy polling within the window");
        Thread.Sleep(2500);
        Assert.Equal(0, PollsOver(loop, TimeSpan.FromMilliseconds(500)));
    }

    private static void AssertWindow(EventLoop loop, TimeSpan expected)
    {
        // The loop adapts the window right after the callback that released the test.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (loop.BusyPollWindow != expected && DateTime.UtcNow < deadline) Thread.Sleep(1);
        Assert.Equal(expected, loop.BusyPollWindow);
    }

    [Fact]
    public void The_window_halves_while_events_come_further_apart_and_is_restored_by_one_that_follows_at_once()
    {
        var loop = Loop(TimeSpan.FromMilliseconds(400));
        Signal();
        AssertHandled();
        AssertWindow(loop, TimeSpan.FromMilliseconds(400));
        foreach (var halved in new[] { 200, 100, 50, 0 })
        {
            Thread.Sleep(600); // longer than the whole window: spinning would not have caught this event
            Signal();
            AssertHandled();
            AssertWindow(loop, TimeSpan.FromMilliseconds(halved)); // 25 ms is below an eighth: off
        }
        Signal(); // within 400 ms of the last event
        AssertHandled();
        AssertWindow(loop, TimeSpan.FromMilliseconds(400));
    }

    [Fact]
    public void With_a_zero_window_the_loop_sleeps_right_after_each_event()
    {
        var loop = Loop(TimeSpan.Zero);
        Signal();
        AssertHandled();
        Thread.Sleep(100);
        Assert.Equal(0, PollsOver(loop, TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public void The_loop_does_not_spin_while_work_is_under_way_off_it_and_spins_again_after_the_next_event()
    {
        var loop = Loop(TimeSpan.FromSeconds(2));
        _offLoopWork.Began();
        Signal();
        AssertHandled();
        Thread.Sleep(100);
        Assert.Equal(0, PollsOver(loop, TimeSpan.FromMilliseconds(500)));
        Signal(); // handled, still no spin after it
        AssertHandled();
        Thread.Sleep(100);
        Assert.Equal(0, PollsOver(loop, TimeSpan.FromMilliseconds(300)));

        _offLoopWork.Ended();
        // Nothing happened since: the loop sleeps on.
        Assert.Equal(0, PollsOver(loop, TimeSpan.FromMilliseconds(300)));
        Signal();
        AssertHandled();
        Assert.True(PollsOver(loop, TimeSpan.FromMilliseconds(300)) > 1, "no busy polling once the work off the loop ended");
    }

    [Fact]
    public void A_spin_stops_as_soon_as_work_begins_off_the_loop()
    {
        var loop = Loop(TimeSpan.FromSeconds(5));
        Signal();
        AssertHandled();
        Assert.True(PollsOver(loop, TimeSpan.FromMilliseconds(200)) > 1, "no busy polling within the window");
        _offLoopWork.Began(); // a command goes to a family off the loop, or a child is spawned
        Thread.Sleep(50);
        Assert.Equal(0, PollsOver(loop, TimeSpan.FromMilliseconds(500)));

        // Work posted from another thread still runs, and the event that follows the end is served by a spin again.
        var ran = new ManualResetEventSlim();
        loop.Invoke(ran.Set);
        Assert.True(ran.Wait(TimeSpan.FromSeconds(10)));
        _offLoopWork.Ended();
        Signal();
        AssertHandled();
        Assert.True(PollsOver(loop, TimeSpan.FromMilliseconds(300)) > 1, "no busy polling once the work off the loop ended");
    }

    /// <summary>A char device's requests come through its reader thread: a spin would only keep that thread from the CPU.</summary>
    [Fact]
    public void Without_a_polled_descriptor_the_loop_does_not_spin_after_work_posted_to_it()
    {
        var loop = Loop(TimeSpan.FromSeconds(2));
        void Post()
        {
            using var ran = new ManualResetEventSlim();
            loop.Invoke(ran.Set);
            Assert.True(ran.Wait(TimeSpan.FromSeconds(10)));
        }
        loop.Invoke(() => loop.SetWatch(_fd, 0, _ => { }));
        Post();
        Thread.Sleep(100);
        Assert.Equal(0, PollsOver(loop, TimeSpan.FromMilliseconds(500)));

        loop.Invoke(() => loop.SetWatch(_fd, Native.POLLIN, _ => { }));
        Post();
        Assert.True(PollsOver(loop, TimeSpan.FromMilliseconds(300)) > 1, "no busy polling after posted work with a descriptor polled");
    }

    [Fact]
    public void The_window_is_read_from_the_event_loop_dispatcher_config()
    {
        var reference = AgentSettings.DefaultConfig().GetConfig("agent.channel.event-loop");
        Assert.Equal(TimeSpan.FromTicks(1000), EventLoopSettings.Create(reference).BusyPoll);
        Assert.Equal(TimeSpan.FromTicks(1000), EventLoopSettings.Create(ConfigurationFactory.ParseString("busy-poll = 0.1ms")).BusyPoll);
        Assert.Equal(TimeSpan.FromMilliseconds(1), EventLoopSettings.Create(ConfigurationFactory.ParseString("busy-poll = 1ms")).BusyPoll);
    }

    public void Dispose()
    {
        if (_loop is { } loop)
        {
            // Forget the descriptor on the loop before closing it, then stop the loop.
            using var forgotten = new ManualResetEventSlim();
            loop.Invoke(() =>
            {
                loop.RemoveWatch(_fd);
                forgotten.Set();
            });
            forgotten.Wait(TimeSpan.FromSeconds(10));
            loop.Shutdown();
        }
        Native.Close(_fd);
        _handled.Dispose();
    }
}
