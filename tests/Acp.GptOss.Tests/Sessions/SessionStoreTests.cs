using Acp.GptOss.Sessions;
using Acp.Protocol;
using Harmony.Conversations;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Tests.Sessions;

/// <summary>The session journal and store on disk: what is written reads back, torn and locked files, modes, listing.</summary>
public sealed class SessionStoreTests : IDisposable
{
    private static readonly DateTimeOffset s_start = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"acp-gptoss-sessions-{Guid.NewGuid():N}", "sessions");

    public void Dispose()
    {
        string parent = Path.GetDirectoryName(_directory)!;
        if (Directory.Exists(parent))
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    private SessionStore Store(int pageSize = 50) => new(_directory, NullLogger.Instance, pageSize);

    private static JournalRecord Message(HarmonyMessage message) => new(JournalKinds.Message) { At = s_start, Message = JournalMessage.From(message) };

    [Fact]
    public void Saved_states_over_the_budget_go_oldest_first_and_their_journals_stay()
    {
        SessionStore store = Store();
        Directory.CreateDirectory(_directory);
        string[] ids = ["sess_old", "sess_mid", "sess_new"];
        for (int i = 0; i < ids.Length; i++)
        {
            File.WriteAllBytes(store.StatePathOf(ids[i]), new byte[1000]);
            File.WriteAllText(Path.Combine(_directory, ids[i] + ".jsonl"), "");
            File.SetLastWriteTimeUtc(store.StatePathOf(ids[i]), s_start.UtcDateTime.AddMinutes(i));
        }

        store.PruneStates(2500);

        Assert.False(File.Exists(store.StatePathOf("sess_old")));
        Assert.True(File.Exists(store.StatePathOf("sess_mid")));
        Assert.True(File.Exists(store.StatePathOf("sess_new")));
        Assert.True(File.Exists(Path.Combine(_directory, "sess_old.jsonl")));
        store.PruneStates(1000);
        Assert.Equal(["sess_new.kv"], Directory.EnumerateFiles(_directory, "*.kv").Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_journal_reads_back_what_was_written()
    {
        HarmonyMessage[] history =
        [
            HarmonyMessage.User("read a.cs"),
            HarmonyMessage.Assistant(HarmonyChannel.Analysis, "Need to read."),
            HarmonyMessage.ToolCall("functions.read_file", """{"path":"a.cs"}""", HarmonyChannel.Commentary, "<|constrain|>json"),
            HarmonyMessage.ToolResult("functions.read_file", "class A {}"),
            HarmonyMessage.Assistant(HarmonyChannel.Final, "It is empty."),
        ];
        await using (SessionJournal journal = Store().Create("sess_1", "/w", ["/x"], s_start))
        {
            journal.Append(new JournalRecord(JournalKinds.Title) { At = s_start, Text = "read a.cs" });
            foreach (HarmonyMessage message in history)
            {
                journal.Append(Message(message));
            }

            journal.Append(new JournalRecord(JournalKinds.TurnEnd) { At = s_start.AddMinutes(1), StopReason = "end_turn", MessageCount = 3, ToolCallCount = 1 });
            journal.Flush();
        }

        (SessionJournal reopened, SessionSnapshot snapshot) = Store().Open("sess_1")!.Value;
        await using (reopened)
        {
            Assert.Equal(history, snapshot.History);
            Assert.Equal(("/w", "read a.cs", s_start.AddMinutes(1), 3, 1), (snapshot.Cwd, snapshot.Title, snapshot.UpdatedAt, snapshot.MessageCount, snapshot.ToolCallCount));
            Assert.Equal(["/x"], snapshot.AdditionalDirectories!);
        }
    }

    [Fact]
    public async Task A_torn_last_line_is_dropped_and_later_records_are_whole()
    {
        await using (SessionJournal journal = Store().Create("sess_1", "/w", null, s_start))
        {
            journal.Append(Message(HarmonyMessage.User("hi")));
            journal.Flush();
        }

        string path = Path.Combine(_directory, "sess_1.jsonl");
        await File.AppendAllTextAsync(path, """{"kind":"message","message":{"role":"user","cont""");

        (SessionJournal reopened, SessionSnapshot snapshot) = Store().Open("sess_1")!.Value;
        await using (reopened)
        {
            Assert.Equal([HarmonyMessage.User("hi")], snapshot.History);
            reopened.Append(Message(HarmonyMessage.User("again")));
        }

        Assert.Equal([HarmonyMessage.User("hi"), HarmonyMessage.User("again")], SessionSnapshot.From(SessionJournal.Read(path, NullLogger.Instance)).History);
        Assert.All(await File.ReadAllLinesAsync(path), l => Assert.StartsWith("{\"kind\":", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_line_that_does_not_parse_is_skipped_not_fatal()
    {
        Directory.CreateDirectory(_directory);
        string path = Path.Combine(_directory, "sess_1.jsonl");
        await File.WriteAllTextAsync(path, "{\"kind\":\"created\",\"cwd\":\"/w\"}\nnot json\n{\"kind\":\"title\",\"text\":\"T\"}\n");

        SessionSnapshot snapshot = SessionSnapshot.From(SessionJournal.Read(path, NullLogger.Instance));

        Assert.Equal(("/w", "T"), (snapshot.Cwd, snapshot.Title));
    }

    [Fact]
    public async Task A_second_opener_is_refused_until_the_first_lets_go()
    {
        SessionStore store = Store();
        await using (SessionJournal first = store.Create("sess_1", "/w", null, s_start))
        {
            SessionBusyException refused = Assert.Throws<SessionBusyException>(() => store.Open("sess_1"));
            Assert.Contains("open in another acp-gptoss process", refused.Message, StringComparison.Ordinal);
            Assert.Throws<SessionBusyException>(() => store.Delete("sess_1"));
        }

        (SessionJournal second, _) = store.Open("sess_1")!.Value;
        await second.DisposeAsync();
    }

    [UnixFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task The_folder_is_private_and_so_are_the_files()
    {
        await using (Store().Create("sess_1", "/w", null, s_start))
        {
        }

        const UnixFileMode owner = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Assert.Equal(owner | UnixFileMode.UserExecute, File.GetUnixFileMode(_directory));
        Assert.Equal(owner, File.GetUnixFileMode(Path.Combine(_directory, "sess_1.jsonl")));
        Assert.Equal(owner, File.GetUnixFileMode(Path.Combine(_directory, "sess_1.lock")));
    }

    [Fact]
    public async Task List_filters_by_cwd_newest_first_one_page_at_a_time()
    {
        SessionStore store = Store(pageSize: 2);
        foreach ((string id, string cwd, int minute) in new[] { ("s_a1", "/a", 1), ("s_b", "/b", 2), ("s_a3", "/a", 3), ("s_a2", "/a", 2) })
        {
            await using SessionJournal journal = store.Create(id, cwd, null, s_start.AddMinutes(minute));
        }

        ListSessionsResponse first = store.List("/a", null);
        ListSessionsResponse second = store.List("/a", first.NextCursor);

        Assert.Equal(["s_a3", "s_a2"], first.Sessions.Select(s => s.SessionId));
        Assert.Equal(["s_a1"], second.Sessions.Select(s => s.SessionId));
        Assert.Null(second.NextCursor);
        Assert.Equal("2026-01-02T03:07:05.0000000Z", first.Sessions[0].UpdatedAt);
        Assert.Equal(4, store.List(null, null).Sessions.Count + store.List(null, store.List(null, null).NextCursor).Sessions.Count);
        Assert.Throws<FormatException>(() => store.List(null, "bogus"));
    }

    [Fact]
    public async Task Delete_removes_every_file_of_the_session_and_ignores_unknown_ids()
    {
        SessionStore store = Store();
        await using (store.Create("sess_1", "/w", null, s_start))
        {
        }

        await File.WriteAllTextAsync(Path.Combine(_directory, "sess_1.state"), "kept beside the journal");
        await using (store.Create("sess_10", "/w", null, s_start))
        {
        }

        store.Delete("sess_1");
        store.Delete("sess_unknown");
        store.Delete("../escape");

        Assert.Equal(["sess_10.jsonl", "sess_10.lock"], Directory.EnumerateFiles(_directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Null(store.Open("sess_1"));
    }

    [Theory]
    [InlineData("Fix the build", "Fix the build")]
    [InlineData("\n  Why does the parser fail?  \nHere is the log", "Why does the parser fail?")]
    [InlineData("Please look at the failing test in the harmony parser and tell me why the golden differs", "Please look at the failing test in the harmony parser and…")]
    [InlineData("", null)]
    public void The_title_is_the_first_line_cut_at_a_word(string request, string? title)
    {
        Assert.Equal(title, SessionTitle.From(request));
        Assert.True((SessionTitle.From(request)?.Length ?? 0) <= SessionTitle.MaxLength);
    }
}

/// <summary>A fact about Unix file modes, skipped visibly on Windows.</summary>
internal sealed class UnixFactAttribute : FactAttribute
{
    public UnixFactAttribute()
    {
        if (OperatingSystem.IsWindows())
        {
            Skip = "Unix file modes.";
        }
    }
}
